#include "store/fallback_store.h"

namespace sluice {

// One request's call while the stores answer it later.
class FallbackStore::Call final : public StoreWaiter {
public:
    explicit Call(FallbackStore& owner) : owner_(owner) {}

    void start(std::span<const QuotaCheck> checks, Nanos now, std::span<CheckResult> results, StoreWaiter& caller) {
        checks_ = checks;
        now_ = now;
        results_ = results;
        caller_ = &caller;
        asked_fallback_ = false;
    }

    std::optional<StoreReply> ask(QuotaStoreHandle& store, bool fallback) {
        asked_fallback_ = fallback;
        return store.acquire(checks_, now_, results_, *this);
    }

    void resume(StoreReply reply) override {
        if (reply == StoreReply::unavailable && !asked_fallback_) {
            const std::optional<StoreReply> answer = ask(*owner_.fallback_, true);
            if (!answer) return;  // the fallback resumes this call later
            reply = *answer;
        }
        StoreWaiter& caller = *caller_;
        owner_.idle_.push_back(this);
        caller.resume(reply);
    }

private:
    FallbackStore& owner_;
    std::span<const QuotaCheck> checks_;
    Nanos now_ = 0;
    std::span<CheckResult> results_;
    StoreWaiter* caller_ = nullptr;
    bool asked_fallback_ = false;
};

FallbackStore::FallbackStore(std::shared_ptr<QuotaStoreHandle> primary, std::shared_ptr<QuotaStoreHandle> fallback)
    : primary_(std::move(primary)),
      fallback_(std::move(fallback)) {}

FallbackStore::~FallbackStore() = default;

std::optional<StoreReply> FallbackStore::acquire(std::span<const QuotaCheck> checks, Nanos now,
                                                 std::span<CheckResult> results, StoreWaiter& waiter) {
    if (idle_.empty()) {
        calls_.push_back(std::make_unique<Call>(*this));
        idle_.push_back(calls_.back().get());
    }
    Call& call = *idle_.back();
    idle_.pop_back();
    call.start(checks, now, results, waiter);
    std::optional<StoreReply> reply = call.ask(*primary_, false);
    if (reply == StoreReply::unavailable) reply = call.ask(*fallback_, true);
    if (reply) idle_.push_back(&call);  // else busy until a store resumes it
    return reply;
}

}  // namespace sluice
