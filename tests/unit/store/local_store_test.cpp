#include "store/local_store.h"

#include "tests/support/fake_clock.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace sluice {
namespace {

constexpr Nanos kSecond = 1'000'000'000;

// Keys whose top bits put them all in one shard.
std::uint64_t shard0_key(std::uint64_t n) { return n + 1; }

LimitParams fixed(double rate, std::chrono::nanoseconds interval) {
    return LimitParams::from(testing::make_quota("q", "", rate, interval, Algorithm::fixed_window));
}

class LocalStoreTest : public ::testing::Test {
protected:
    bool hit(LocalStore& store, const LimitParams& p, std::uint64_t key, CheckResult* out = nullptr) {
        const QuotaCheck check{&p, key, true};
        CheckResult result;
        const bool allowed = store.acquire({&check, 1}, clock.now(), {&result, 1}) == StoreReply::admitted;
        if (out) *out = result;
        return allowed;
    }
    testing::FakeClock clock;
};

TEST_F(LocalStoreTest, FullStoreNeverForgetsARefusedKeyAndFailsClosed) {
    LocalStore store(2);
    const LimitParams p = fixed(1, 1min);
    ASSERT_TRUE(hit(store, p, shard0_key(1)));
    ASSERT_TRUE(hit(store, p, shard0_key(2)));  // both now refused until the window ends
    CheckResult result;
    EXPECT_FALSE(hit(store, p, shard0_key(3), &result));
    EXPECT_TRUE(result.store_full);
    EXPECT_EQ(result.evaluation.retry_after, kSecond);
    EXPECT_FALSE(hit(store, p, shard0_key(1))) << "key 1 must still be refused";
    EXPECT_EQ(store.evictions(), 0u);

    clock.advance(1min);  // both windows over: idle keys make room
    EXPECT_TRUE(hit(store, p, shard0_key(3)));
    EXPECT_EQ(store.evictions(), 1u);
}

TEST_F(LocalStoreTest, FullStoreRefusesAKeyOfAShardThatNeverHeldOne) {
    LocalStore store(1);
    const LimitParams p = fixed(5, 1min);
    ASSERT_TRUE(hit(store, p, shard0_key(0)));
    CheckResult result;
    const std::uint64_t other_shard = std::uint64_t{1} << 58;
    EXPECT_FALSE(hit(store, p, other_shard, &result));  // once crashed: a modulo by the empty shard's size
    EXPECT_TRUE(result.store_full);
    clock.advance(1min);
    store.expire(clock.now());
    EXPECT_TRUE(hit(store, p, other_shard));
}

TEST_F(LocalStoreTest, EvictsAKeyThatStillHasRoomBeforeOneThatIsRefused) {
    LocalStore store(2);
    const LimitParams p = fixed(2, 1min);
    ASSERT_TRUE(hit(store, p, shard0_key(1)));
    ASSERT_TRUE(hit(store, p, shard0_key(1)));  // exhausted: protected
    ASSERT_TRUE(hit(store, p, shard0_key(2)));  // one left: evictable
    EXPECT_TRUE(hit(store, p, shard0_key(3)));
    EXPECT_EQ(store.evictions(), 1u);
    EXPECT_FALSE(hit(store, p, shard0_key(1)));
    EXPECT_EQ(store.peek(shard0_key(2)).current, 0u) << "key 2 was the one forgotten";
}

TEST_F(LocalStoreTest, BlockedKeyIsNeverEvicted) {
    Quota q = testing::make_quota("q", "", 1, 1s, Algorithm::fixed_window);
    q.block_interval = 1h;
    const LimitParams p = LimitParams::from(q);
    LocalStore store(1);
    ASSERT_TRUE(hit(store, p, shard0_key(1)));
    ASSERT_FALSE(hit(store, p, shard0_key(1)));  // now blocked for an hour
    clock.advance(10s);
    CheckResult result;
    EXPECT_FALSE(hit(store, p, shard0_key(2), &result));
    EXPECT_TRUE(result.store_full);
    EXPECT_FALSE(hit(store, p, shard0_key(1)));
}

TEST_F(LocalStoreTest, ExpireDropsIdleStateAndKeepsTheRest) {
    LocalStore store(10'000);
    const LimitParams short_window = fixed(5, 1s);
    const LimitParams long_window = fixed(5, 1h);
    for (std::uint64_t k = 1; k <= 500; ++k) hit(store, k % 2 ? short_window : long_window, k * 0x9E3779B97F4A7C15ull);
    EXPECT_EQ(store.tracked_keys(), 500u);
    EXPECT_EQ(store.expire(clock.now()), 0u);
    clock.advance(2s);
    EXPECT_EQ(store.expire(clock.now()), 250u);
    EXPECT_EQ(store.tracked_keys(), 250u);
    for (std::uint64_t k = 2; k <= 500; k += 2)
        ASSERT_EQ(store.peek(k * 0x9E3779B97F4A7C15ull).current, 1u) << "key " << k << " lost after deletions";
}

TEST_F(LocalStoreTest, MemoryStaysBoundedUnderAFloodOfDistinctKeys) {
    const std::size_t max_keys = 10'000;
    LocalStore store(max_keys);
    const LimitParams p = LimitParams::from(testing::make_quota("q", "", 100, 1s));
    for (std::uint64_t k = 1; k <= 200'000; ++k) {
        hit(store, p, k * 0x9E3779B97F4A7C15ull);
        if (k % 1000 == 0) clock.advance(1ms);
    }
    EXPECT_EQ(store.tracked_keys(), max_keys);
    EXPECT_LE(store.memory_bytes(), max_keys * 64 + sizeof(LocalStore));
    EXPECT_GT(store.evictions(), 100'000u);
}

}  // namespace
}  // namespace sluice
