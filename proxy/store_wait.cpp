#include "proxy/store_wait.h"

namespace sluice {

void StoreWait::resume(StoreReply reply) {
    reply_ = reply;
    if (timer_) timer_->cancel();
}

ProxyTask<StoreReply> StoreWait::reply() {
    if (!timer_) timer_.emplace(executor_);
    // The store answers on this loop and never while it is being called, so
    // no reply can come between this test and the wait.
    while (!reply_) {
        timer_->expires_at(Timer::time_point::max());
        boost::beast::error_code cancelled;
        co_await timer_->async_wait(redirect(cancelled));
    }
    const StoreReply reply = *reply_;
    reply_.reset();
    co_return reply;
}

}  // namespace sluice
