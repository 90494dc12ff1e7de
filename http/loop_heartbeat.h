// For a watchdog: whether an event loop still runs its handlers. One thread
// (the watchdog's) calls beat() periodically; the loop answers each beat when
// it gets to it, so a loop stuck in a handler stops answering.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <cstdint>

namespace sluice {

class LoopHeartbeat {
public:
    // True when `loop` ran the beat the previous call posted (true on the
    // first call); posts the next. `loop` is the same on every call and must
    // not run after this object is gone (destroyed, it never runs the beats
    // still pending).
    bool beat(boost::asio::io_context& loop) {
        const bool answered = answered_.load(std::memory_order_acquire) == posted_;
        const std::uint64_t next = ++posted_;
        boost::asio::post(loop, [this, next] { answered_.store(next, std::memory_order_release); });
        return answered;
    }

private:
    std::uint64_t posted_ = 0;  // the watchdog's thread only
    std::atomic<std::uint64_t> answered_{0};
};

}  // namespace sluice
