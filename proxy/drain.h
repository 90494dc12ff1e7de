// A proxy thread's part of a graceful stop: once draining, the connections
// that wait for a next request are closed at once, and those serving one
// close after its answer (which says Connection: close).
#pragma once

#include "http/timed_socket.h"

namespace sluice {

// Used from its thread's event loop only.
class Drain {
public:
    bool draining() const { return draining_; }

    // Starts draining: cancels every idle wait.
    void start() {
        draining_ = true;
        boost::beast::error_code ignored;
        for (IdleWait* wait = idle_; wait; wait = wait->next_) wait->socket_.cancel(ignored);
    }

    // A connection waiting for its next request, for as long as it lives
    // (on the waiting coroutine's frame).
    class IdleWait {
    public:
        IdleWait(Drain& drain, ProxySocket& socket) : drain_(drain), socket_(socket), next_(drain.idle_) {
            if (next_) next_->prev_ = this;
            drain.idle_ = this;
        }
        ~IdleWait() {
            (prev_ ? prev_->next_ : drain_.idle_) = next_;
            if (next_) next_->prev_ = prev_;
        }
        IdleWait(const IdleWait&) = delete;
        IdleWait& operator=(const IdleWait&) = delete;

    private:
        friend class Drain;
        Drain& drain_;
        ProxySocket& socket_;
        IdleWait* prev_ = nullptr;
        IdleWait* next_;
    };

private:
    bool draining_ = false;
    IdleWait* idle_ = nullptr;  // an intrusive list: no allocation per wait
};

}  // namespace sluice
