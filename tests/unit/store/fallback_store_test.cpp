// store.on_error "local": the local store answers whatever the primary store
// cannot, at once or after the primary deferred.
#include "store/fallback_store.h"

#include "tests/support/deferred_store.h"
#include "tests/support/fake_clock.h"

#include <gtest/gtest.h>

#include <array>

using namespace std::chrono_literals;

namespace sluice {
namespace {

// A store that is down and says so at once (a connection known to be lost).
class DownStore final : public QuotaStoreHandle {
public:
    std::optional<StoreReply> acquire(std::span<const QuotaCheck>, Nanos, std::span<CheckResult>,
                                      StoreWaiter&) override {
        return StoreReply::unavailable;
    }
};

class FallbackStoreTest : public ::testing::Test {
protected:
    std::optional<StoreReply> ask(FallbackStore& store, testing::ReplyCatcher& waiter, CheckResult& result) {
        return store.acquire({&check, 1}, clock.now(), {&result, 1}, waiter);
    }

    testing::FakeClock clock;
    LimitParams params = LimitParams::from(testing::make_quota("q", "", 2, 1min, Algorithm::fixed_window));
    QuotaCheck check{&params, 42, true};
    std::shared_ptr<testing::DeferredStore> primary = std::make_shared<testing::DeferredStore>();
    std::shared_ptr<LocalStore> local = std::make_shared<LocalStore>(1000);
};

TEST_F(FallbackStoreTest, APrimaryThatAnswersIsTheOnlyOneAsked) {
    FallbackStore store(primary, local);
    for (const StoreReply expected : {StoreReply::admitted, StoreReply::admitted, StoreReply::refused}) {
        testing::ReplyCatcher waiter;
        CheckResult result;
        EXPECT_EQ(ask(store, waiter, result), std::nullopt);
        primary->settle();
        EXPECT_EQ(waiter.resumes, 1);
        EXPECT_EQ(waiter.reply, expected);
    }
    EXPECT_EQ(local->tracked_keys(), 0u) << "the fallback counted nothing";
}

TEST_F(FallbackStoreTest, APrimaryThatCannotAnswerLaterHandsTheCallToTheFallback) {
    FallbackStore store(primary, local);
    primary->set_available(false);
    // Three calls wait at once: each is answered, once, in its own slot.
    std::array<testing::ReplyCatcher, 3> waiters;
    std::array<CheckResult, 3> results;
    for (std::size_t i = 0; i < waiters.size(); ++i) EXPECT_EQ(ask(store, waiters[i], results[i]), std::nullopt);
    EXPECT_EQ(primary->settle(), 3u);
    const StoreReply expected[] = {StoreReply::admitted, StoreReply::admitted, StoreReply::refused};
    for (std::size_t i = 0; i < waiters.size(); ++i) {
        EXPECT_EQ(waiters[i].resumes, 1) << i;
        EXPECT_EQ(waiters[i].reply, expected[i]) << i;
        EXPECT_EQ(results[i].evaluation.remaining, i < 2 ? 1 - i : 0u) << i;
    }
    EXPECT_EQ(local->peek(42).current, 2u);
}

TEST_F(FallbackStoreTest, APrimaryThatIsDownAnswersAtOnceFromTheFallback) {
    FallbackStore store(std::make_shared<DownStore>(), local);
    testing::ReplyCatcher waiter;
    CheckResult result;
    EXPECT_EQ(ask(store, waiter, result), StoreReply::admitted);
    EXPECT_EQ(ask(store, waiter, result), StoreReply::admitted);
    EXPECT_EQ(ask(store, waiter, result), StoreReply::refused);
    EXPECT_EQ(waiter.resumes, 0) << "answered on the caller's frame";
}

TEST_F(FallbackStoreTest, AFallbackThatDefersToo) {
    auto second = std::make_shared<testing::DeferredStore>();
    FallbackStore store(std::make_shared<DownStore>(), second);
    testing::ReplyCatcher waiter;
    CheckResult result;
    EXPECT_EQ(ask(store, waiter, result), std::nullopt);
    EXPECT_EQ(second->settle(), 1u);
    EXPECT_EQ(waiter.resumes, 1);
    EXPECT_EQ(waiter.reply, StoreReply::admitted);
}

}  // namespace
}  // namespace sluice
