#include "limit/algorithms.h"

#include "tests/support/fake_clock.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace sluice {
namespace {

constexpr Nanos ms(long long v) { return v * 1'000'000; }
constexpr Nanos s(long long v) { return v * 1'000'000'000; }

// Drives one key's state the way the store does: commit on allow, apply the
// refusal (block) otherwise.
struct Key {
    LimitParams params;
    LimitState state;
    Nanos now = s(1'000);

    Evaluation hit() {
        Evaluation e = evaluate(params, state, now);
        state = e.allowed ? e.next : refused_state(params, e.next, now);
        return e;
    }
    int admit_all(int attempts) {
        int admitted = 0;
        for (int i = 0; i < attempts; ++i) admitted += hit().allowed;
        return admitted;
    }
};

Key key_for(double rate, std::chrono::nanoseconds interval, Algorithm algorithm,
            std::optional<double> burst = std::nullopt) {
    Quota q = testing::make_quota("q", "", rate, interval, algorithm);
    q.burst = burst;
    return Key{LimitParams::from(q), {}};
}

TEST(TokenBucket, FirstRequestLeavesBurstMinusOne) {
    Key k = key_for(10, 1s, Algorithm::token_bucket);
    const Evaluation e = k.hit();
    EXPECT_TRUE(e.allowed);
    EXPECT_EQ(e.remaining, 9u);
    EXPECT_EQ(e.reset, ms(100));  // one emission interval until whole again
}

TEST(TokenBucket, AdmitsExactlyTheBurstThenRefusesWithRetryAfterOneEmission) {
    Key k = key_for(10, 1s, Algorithm::token_bucket);
    for (unsigned left = 10; left-- > 0;) {
        const Evaluation e = k.hit();
        ASSERT_TRUE(e.allowed);
        EXPECT_EQ(e.remaining, left);
    }
    const Evaluation refused = k.hit();
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.remaining, 0u);
    EXPECT_EQ(refused.retry_after, ms(100));
    EXPECT_EQ(refused.reset, s(1));
}

TEST(TokenBucket, PartialRefillAdmitsWhatHasDripped) {
    Key k = key_for(10, 1s, Algorithm::token_bucket);
    EXPECT_EQ(k.admit_all(10), 10);
    k.now += ms(250);  // 2.5 emissions have dripped back: two whole requests
    const Evaluation first = k.hit();
    EXPECT_TRUE(first.allowed);
    EXPECT_EQ(first.remaining, 1u);
    EXPECT_TRUE(k.hit().allowed);
    const Evaluation third = k.hit();
    EXPECT_FALSE(third.allowed);
    EXPECT_EQ(third.retry_after, ms(50));
}

TEST(TokenBucket, OnePerHourWithBurstTenPassesExactlyTen) {
    Key k = key_for(1, 1h, Algorithm::token_bucket, 10);
    EXPECT_EQ(k.admit_all(11), 10);
    const Evaluation refused = k.hit();
    EXPECT_EQ(refused.retry_after, s(3600));
    k.now += s(3600);
    EXPECT_EQ(k.admit_all(2), 1);
}

TEST(TokenBucket, FractionalRateSpacesRequests) {
    Key k = key_for(0.5, 1s, Algorithm::token_bucket, 1);  // one every 2 s
    EXPECT_EQ(k.admit_all(2), 1);
    k.now += ms(1999);
    EXPECT_FALSE(k.hit().allowed);
    k.now += ms(1);
    EXPECT_TRUE(k.hit().allowed);
}

TEST(FixedWindow, CountsDownAndRefusesUntilTheWindowEnds) {
    Key k = key_for(3, 10s, Algorithm::fixed_window);
    EXPECT_EQ(k.hit().remaining, 2u);
    EXPECT_EQ(k.hit().remaining, 1u);
    const Evaluation last = k.hit();
    EXPECT_TRUE(last.allowed);
    EXPECT_EQ(last.remaining, 0u);
    EXPECT_EQ(last.reset, s(10));
    k.now += s(4);
    const Evaluation refused = k.hit();
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after, s(6));
    EXPECT_EQ(refused.reset, s(6));
}

TEST(FixedWindow, WindowStartsAtTheFirstRequestAndRefillsWholeAtItsEdge) {
    Key k = key_for(2, 10s, Algorithm::fixed_window);
    k.now += s(3);  // the window is the key's own, not aligned to the clock
    EXPECT_EQ(k.admit_all(3), 2);
    k.now += s(10) - 1;
    EXPECT_FALSE(k.hit().allowed);
    k.now += 1;  // exactly at the edge
    const Evaluation e = k.hit();
    EXPECT_TRUE(e.allowed);
    EXPECT_EQ(e.remaining, 1u);
    EXPECT_EQ(e.reset, s(10));
}

TEST(FixedWindow, FractionalRateAdmitsWholeRequests) {
    Key k = key_for(897.3, 2min, Algorithm::fixed_window);
    EXPECT_EQ(k.admit_all(1000), 897);
}

TEST(SlidingWindow, WeighsThePreviousWindow) {
    Key k = key_for(10, 10s, Algorithm::sliding_window);
    for (unsigned left = 10; left-- > 0;) EXPECT_EQ(k.hit().remaining, left);
    const Evaluation refused = k.hit();
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after, s(11));  // next window, plus 1/10 of it
    k.now += s(10);                         // previous = 10 counts fully
    EXPECT_FALSE(k.hit().allowed);
    k.now += s(1);  // 9/10 of the previous window left: 9 + 1 fits
    const Evaluation e = k.hit();
    EXPECT_TRUE(e.allowed);
    EXPECT_EQ(e.remaining, 0u);
    k.now += s(5);  // 4/10 left: 4 + 1 counted, room for 5 more
    EXPECT_EQ(k.admit_all(10), 5);
}

TEST(SlidingWindow, ForgetsEverythingAfterTwoIdleWindows) {
    Key k = key_for(5, 10s, Algorithm::sliding_window);
    EXPECT_EQ(k.admit_all(5), 5);
    k.now += s(20);
    EXPECT_EQ(k.hit().remaining, 4u);
    EXPECT_EQ(k.state.idle_at(), k.now + s(20));
}

TEST(BlockInterval, RefusalStartsABlockThatOutlastsTheWindow) {
    Quota q = testing::make_quota("q", "", 2, 10s, Algorithm::fixed_window);
    q.block_interval = 60s;
    Key k{LimitParams::from(q), {}};
    EXPECT_EQ(k.admit_all(2), 2);
    EXPECT_FALSE(k.hit().allowed);
    EXPECT_TRUE(k.state.blocked);
    EXPECT_EQ(k.state.hold_until, k.now + s(60));
    k.now += s(30);  // the window is long over, the block is not
    const Evaluation blocked = k.hit();
    EXPECT_FALSE(blocked.allowed);
    EXPECT_EQ(blocked.retry_after, s(30));
    EXPECT_EQ(k.state.hold_until, k.now + s(30)) << "a request while blocked does not extend the block";
    k.now += s(30);
    EXPECT_TRUE(k.hit().allowed);
    EXPECT_FALSE(k.state.blocked);
}

TEST(LimitState, IdleAtCoversTheBlock) {
    LimitState st;
    st.time = 5;
    st.hold_until = 9;
    st.blocked = 1;
    EXPECT_EQ(st.idle_at(), 9);
    EXPECT_TRUE(st.blocked_at(8));
    EXPECT_FALSE(st.blocked_at(9));
    EXPECT_EQ(sizeof(LimitState), 24u);
}

}  // namespace
}  // namespace sluice
