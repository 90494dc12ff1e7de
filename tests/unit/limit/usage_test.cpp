// usage(): where a key stands without a request, checked against what
// evaluate() then does with requests.
#include "limit/algorithms.h"

#include "tests/support/fake_clock.h"

#include <gtest/gtest.h>

#include <optional>

using namespace std::chrono_literals;

namespace sluice {
namespace {

constexpr Nanos ms(long long v) { return v * 1'000'000; }
constexpr Nanos s(long long v) { return v * 1'000'000'000; }
constexpr Algorithm kAlgorithms[] = {Algorithm::token_bucket, Algorithm::fixed_window, Algorithm::sliding_window};

// One key's state, advanced the way the store advances it.
class Tracked {
public:
    Tracked(double rate, std::chrono::nanoseconds interval, Algorithm algorithm, std::chrono::nanoseconds block = 0s,
            std::optional<double> burst = std::nullopt) {
        Quota q = testing::make_quota("q", "", rate, interval, algorithm);
        q.block_interval = block;
        q.burst = burst;
        params_ = LimitParams::from(q);
    }

    // `count` requests at the current time; returns how many passed.
    unsigned send(unsigned count) {
        unsigned passed = 0;
        for (unsigned i = 0; i < count; ++i) {
            const Evaluation e = evaluate(params_, state_, now_);
            state_ = e.allowed ? e.next : refused_state(params_, e.next, now_);
            passed += e.allowed;
        }
        return passed;
    }
    void wait(Nanos d) { now_ += d; }
    Usage usage_now() const { return usage(params_, state_, now_); }

    // What usage() says must be what requests then find: `remaining`
    // requests pass one after the other and the next one is refused.
    void expect_consistent_with_evaluate() const {
        const Usage u = usage_now();
        EXPECT_EQ(u.used + u.remaining, params_.limit);
        Tracked copy = *this;
        EXPECT_EQ(copy.send(u.remaining + 1), u.remaining);
    }

private:
    LimitParams params_;
    LimitState state_;
    Nanos now_ = s(1'000);
};

void expect_usage(const Usage& u, std::uint32_t used, std::uint32_t remaining, Nanos reset) {
    EXPECT_EQ(u.used, used);
    EXPECT_EQ(u.remaining, remaining);
    EXPECT_EQ(u.reset, reset);
}

TEST(TokenBucketUsage, FreshKeyHasTheWholeBurstAndNothingToRefill) {
    const Tracked key(10, 1s, Algorithm::token_bucket);
    expect_usage(key.usage_now(), 0, 10, 0);
    key.expect_consistent_with_evaluate();
}

TEST(TokenBucketUsage, AfterKRequestsRemainingIsLimitMinusK) {
    for (unsigned k = 1; k <= 10; ++k) {
        Tracked key(10, 1s, Algorithm::token_bucket);
        ASSERT_EQ(key.send(k), k);
        expect_usage(key.usage_now(), k, 10 - k, ms(100) * k);
        key.expect_consistent_with_evaluate();
    }
}

TEST(TokenBucketUsage, PartlyRefilledCreditRoundsUsedUp) {
    Tracked key(10, 1s, Algorithm::token_bucket);
    key.send(10);
    key.wait(ms(250));  // 2.5 emissions dripped back: 7.5 in use, 2 whole requests free
    expect_usage(key.usage_now(), 8, 2, ms(750));
    key.expect_consistent_with_evaluate();
}

TEST(TokenBucketUsage, BurstAboveRateCountsAgainstTheBurst) {
    Tracked key(1, 1h, Algorithm::token_bucket, 0s, 10);
    key.send(10);
    expect_usage(key.usage_now(), 10, 0, s(36'000));
    key.wait(s(3600));
    expect_usage(key.usage_now(), 9, 1, s(32'400));
    key.expect_consistent_with_evaluate();
}

TEST(FixedWindowUsage, CountsTheRunningWindowAndItsEnd) {
    Tracked key(3, 10s, Algorithm::fixed_window);
    expect_usage(key.usage_now(), 0, 3, s(10));
    key.send(2);
    expect_usage(key.usage_now(), 2, 1, s(10));
    key.wait(s(4));
    expect_usage(key.usage_now(), 2, 1, s(6));
    key.expect_consistent_with_evaluate();
    key.send(1);
    expect_usage(key.usage_now(), 3, 0, s(6));
    key.expect_consistent_with_evaluate();
}

TEST(FixedWindowUsage, AnEndedWindowCountsNothingAndANewOneWouldLastAWholeInterval) {
    Tracked key(3, 10s, Algorithm::fixed_window);
    key.send(3);
    key.wait(s(10));
    expect_usage(key.usage_now(), 0, 3, s(10));
    key.expect_consistent_with_evaluate();
}

TEST(SlidingWindowUsage, WeighsThePreviousWindowAndRoundsUp) {
    Tracked key(10, 10s, Algorithm::sliding_window);
    expect_usage(key.usage_now(), 0, 10, 0);
    key.send(10);
    expect_usage(key.usage_now(), 10, 0, s(20));  // counted until two windows have passed
    key.expect_consistent_with_evaluate();
    key.wait(s(10));  // the 10 are now the previous window, counting fully
    expect_usage(key.usage_now(), 10, 0, s(10));
    key.wait(s(1));  // 9/10 of them count
    expect_usage(key.usage_now(), 9, 1, s(9));
    key.expect_consistent_with_evaluate();
    key.wait(ms(2500));  // 6.5 count: 7 used, 3 free
    expect_usage(key.usage_now(), 7, 3, ms(6500));
    key.expect_consistent_with_evaluate();
    key.send(1);  // counted in the current window: whole again when the next one ends
    expect_usage(key.usage_now(), 8, 2, ms(16500));
    key.expect_consistent_with_evaluate();
}

TEST(SlidingWindowUsage, ForgetsEverythingAfterTwoIdleWindows) {
    Tracked key(5, 10s, Algorithm::sliding_window);
    key.send(5);
    key.wait(s(20));
    expect_usage(key.usage_now(), 0, 5, 0);
    key.expect_consistent_with_evaluate();
}

TEST(BlockedUsage, ABlockedKeyHasUsedTheLimitUntilItIsUnblocked) {
    for (Algorithm algorithm : kAlgorithms) {
        SCOPED_TRACE(std::string(to_string(algorithm)));
        Tracked key(2, 10s, algorithm, 1min);
        ASSERT_EQ(key.send(3), 2u);  // the third is refused and starts the block
        expect_usage(key.usage_now(), 2, 0, s(60));
        key.wait(s(30));
        expect_usage(key.usage_now(), 2, 0, s(30));
        EXPECT_EQ(key.send(1), 0u);
        key.wait(s(30));  // the block is over, and so is every window
        const Usage after = key.usage_now();
        EXPECT_EQ(after.used, 0u);
        EXPECT_EQ(after.remaining, 2u);
        key.expect_consistent_with_evaluate();
    }
}

// At every step of a busy key, usage() agrees with evaluate().
TEST(UsageAgreesWithEvaluate, AtEveryStepOfTraffic) {
    for (Algorithm algorithm : kAlgorithms) {
        SCOPED_TRACE(std::string(to_string(algorithm)));
        Tracked key(7, 3s, algorithm);
        for (int step = 0; step < 200; ++step) {
            key.send(static_cast<unsigned>(step % 4));
            key.wait(ms(37 + (step * 53) % 400));
            key.expect_consistent_with_evaluate();
            if (::testing::Test::HasFailure()) return;
        }
    }
}

}  // namespace
}  // namespace sluice
