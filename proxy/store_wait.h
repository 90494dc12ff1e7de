// How a session waits for a quota store that answers later (a network
// store): resume() wakes the waiting coroutine by cancelling a timer that
// never expires by itself, the one wake-up Boost 1.74's awaitable can wait
// for on the loop's own executor. A store that answers at once never reaches
// it: the timer is made on the first wait, and no coroutine frame is.
#pragma once

#include "http/timed_socket.h"
#include "limit/quota_store.h"

#include <optional>

namespace sluice {

class StoreWait final : public StoreWaiter {
public:
    explicit StoreWait(ProxyExecutor executor) : executor_(executor) {}

    void resume(StoreReply reply) override;
    // The reply resume() gave or will give; taken, so the next call starts afresh.
    ProxyTask<StoreReply> reply();

private:
    using Timer = boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                    boost::asio::wait_traits<std::chrono::steady_clock>, ProxyExecutor>;

    ProxyExecutor executor_;
    std::optional<Timer> timer_;
    std::optional<StoreReply> reply_;
};

}  // namespace sluice
