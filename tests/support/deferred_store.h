// A quota store that answers later, as a network store does: each call waits
// until the thread that made it calls settle(), and while the store is
// unavailable every call it settles answers StoreReply::unavailable. The
// state is a LocalStore's, so its answers are the local store's.
#pragma once

#include "store/local_store.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

namespace sluice::testing {

class DeferredStore final : public QuotaStore, public QuotaStoreHandle {
public:
    explicit DeferredStore(std::size_t max_keys = 10'000) : local_(max_keys) {}

    std::optional<StoreReply> acquire(std::span<const QuotaCheck> checks, Nanos now, std::span<CheckResult> results,
                                      StoreWaiter& waiter) override {
        const std::lock_guard lock(mutex_);
        waiting_.push_back({checks, now, results, &waiter, std::this_thread::get_id()});
        return std::nullopt;
    }

    // Answers the calling thread's waiting calls, in the order they came;
    // returns how many.
    std::size_t settle() {
        std::vector<Call> mine;
        {
            const std::lock_guard lock(mutex_);
            const auto first_mine = std::stable_partition(waiting_.begin(), waiting_.end(), [](const Call& call) {
                return call.thread != std::this_thread::get_id();
            });
            mine.assign(first_mine, waiting_.end());
            waiting_.erase(first_mine, waiting_.end());
        }
        for (const Call& call : mine)
            call.waiter->resume(available_ ? local_.acquire(call.checks, call.now, call.results)
                                           : StoreReply::unavailable);
        return mine.size();
    }

    // From the next settle() on.
    void set_available(bool available) { available_ = available; }

    LimitState peek(std::uint64_t key, std::uint64_t identity) const override { return local_.peek(key, identity); }
    void forget(std::uint64_t key, std::uint64_t identity) override { local_.forget(key, identity); }

private:
    struct Call {
        std::span<const QuotaCheck> checks;
        Nanos now;
        std::span<CheckResult> results;
        StoreWaiter* waiter;
        std::thread::id thread;
    };

    LocalStore local_;
    std::mutex mutex_;
    std::vector<Call> waiting_;
    std::atomic<bool> available_{true};
};

// A waiter that keeps the reply, and counts how often it was woken.
struct ReplyCatcher final : StoreWaiter {
    void resume(StoreReply r) override {
        reply = r;
        ++resumes;
    }
    std::optional<StoreReply> reply;
    int resumes = 0;
};

}  // namespace sluice::testing
