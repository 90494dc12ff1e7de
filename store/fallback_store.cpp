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
    }

    // The primary's reply, and the fallback's when the primary's is
    // unavailable; nullopt while either is still to answer.
    std::optional<StoreReply> ask() {
        asked_fallback_ = false;
        const std::optional<StoreReply> reply = owner_.primary_->acquire(checks_, now_, results_, *this);
        return reply == StoreReply::unavailable ? ask_fallback() : reply;
    }

    void resume(StoreReply reply) override {
        if (reply == StoreReply::unavailable && !asked_fallback_) {
            const std::optional<StoreReply> answer = ask_fallback();
            if (!answer) return;  // the fallback resumes this call later
            reply = *answer;
        }
        StoreWaiter& caller = *caller_;
        owner_.calls_.give_back(*this);
        caller.resume(reply);
    }

private:
    std::optional<StoreReply> ask_fallback() {
        asked_fallback_ = true;
        return owner_.fallback_->acquire(checks_, now_, results_, *this);
    }

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
    Call& call = calls_.take(*this);
    call.start(checks, now, results, waiter);
    const std::optional<StoreReply> reply = call.ask();
    if (reply) calls_.give_back(call);  // else busy until a store resumes it
    return reply;
}

}  // namespace sluice
