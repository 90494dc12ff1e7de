#include "store/refusal_cache.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

Evaluation refused(Nanos retry_after, Nanos reset) {
    Evaluation e;
    e.retry_after = retry_after;
    e.reset = reset;
    return e;
}

TEST(RefusalCache, RefusesTheKeyUntilItsExactRetryTimeCountedFromNow) {
    RefusalCache cache(10);
    cache.remember(7, refused(500, 900), 1000);
    const std::optional<Evaluation> at_1200 = cache.find(7, 1200);
    ASSERT_TRUE(at_1200);
    EXPECT_FALSE(at_1200->allowed);
    EXPECT_EQ(at_1200->retry_after, 300);
    EXPECT_EQ(at_1200->reset, 700);
    EXPECT_EQ(at_1200->remaining, 0u);
    EXPECT_TRUE(cache.find(7, 1499)) << "a nanosecond before the retry time";
    EXPECT_FALSE(cache.find(7, 1500)) << "at the retry time the store is asked";
    EXPECT_EQ(cache.size(), 0u) << "a refusal that ran out is dropped";
    EXPECT_FALSE(cache.find(8, 1000));
}

TEST(RefusalCache, RemembersRefusalsOnly) {
    RefusalCache cache(10);
    Evaluation allowed = refused(0, 100);
    allowed.allowed = true;
    cache.remember(1, allowed, 0);
    cache.remember(2, refused(0, 100), 0);  // no wait: nothing to remember
    EXPECT_EQ(cache.size(), 0u);
}

TEST(RefusalCache, AForgottenKeyIsAskedAgain) {
    RefusalCache cache(10);
    cache.remember(3, refused(1000, 1000), 0);
    cache.forget(3);
    EXPECT_FALSE(cache.find(3, 1));
}

TEST(RefusalCache, AFullCacheDropsWhatRanOutAndOtherwiseRemembersNothingMore) {
    RefusalCache cache(2);
    cache.remember(1, refused(100, 100), 0);
    cache.remember(2, refused(1000, 1000), 0);
    cache.remember(3, refused(1000, 1000), 50);
    EXPECT_FALSE(cache.find(3, 60)) << "full, and no refusal had run out";
    cache.remember(3, refused(1000, 1000), 200);
    EXPECT_TRUE(cache.find(3, 300)) << "key 1's refusal had run out and made room";
    EXPECT_TRUE(cache.find(2, 300));
    EXPECT_EQ(cache.size(), 2u);
}

}  // namespace
}  // namespace sluice
