// The limiter's three steps around a store that answers later or not at all:
// prepare -> the store -> finish, and store.on_error for an unavailable store.
#include "limit/limiter.h"
#include "proxy/rate_limit_headers.h"

#include "tests/support/deferred_store.h"
#include "tests/support/fake_clock.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace sluice {
namespace {

class StoreReplyTest : public ::testing::Test {
protected:
    StoreReplyTest() {
        Quota per_ip = testing::make_quota("per-ip", "/v1/*", 3, 1min, Algorithm::fixed_window);
        per_ip.block_interval = 5min;
        limiter.set_block_list(&blocks);
        limiter.set_policy(std::make_shared<const Policy>(std::vector<Quota>{per_ip}, HeaderStyle::draft));
    }

    // One request through the three steps, the store answering when it settles.
    Decision request(std::string_view ip = "192.0.2.1") {
        StoreCall call;
        Decision d = limiter.prepare({"GET", "/v1/x", ip, nullptr}, call);
        EXPECT_EQ(call.checks.size(), 1u);
        testing::ReplyCatcher waiter;
        EXPECT_EQ(call.ask(store, waiter), std::nullopt);
        EXPECT_EQ(store.settle(), 1u);
        EXPECT_EQ(waiter.resumes, 1);
        limiter.finish(d, call, waiter.reply.value());
        return d;
    }
    std::uint64_t counted(QuotaCounters::Outcome outcome) const {
        return limiter.policy()->find("per-ip")->counters->total(outcome);
    }

    testing::FakeClock clock;
    testing::DeferredStore store;
    BlockList blocks{100};
    Limiter limiter{std::make_shared<const Policy>(std::vector<Quota>{}, HeaderStyle::draft), store, clock,
                    KeyedHasher(1, 2)};
};

TEST_F(StoreReplyTest, ADeferredAnswerDecidesAsAnImmediateOne) {
    for (std::uint32_t left : {2u, 1u, 0u}) {
        const Decision d = request();
        ASSERT_TRUE(d.allowed);
        EXPECT_FALSE(d.store_unavailable);
        ASSERT_EQ(d.headline, 0);
        EXPECT_EQ(d.outcomes[0].remaining, left);
        EXPECT_EQ(rate_limit_headers(d), (HeaderFields{{"RateLimit-Limit", "3"},
                                                       {"RateLimit-Remaining", std::to_string(left)},
                                                       {"RateLimit-Reset", "60"}}));
    }
    const Decision refused = request();
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.refusing, 0);
    EXPECT_EQ(make_refusal(refused).headers.front(), (std::pair<std::string, std::string>{"Retry-After", "300"}));
    EXPECT_EQ(counted(QuotaCounters::Outcome::allowed), 3u);
    EXPECT_EQ(counted(QuotaCounters::Outcome::limited), 1u);
}

TEST_F(StoreReplyTest, ARefusalThatTheStoreAnsweredLaterStillBlocksTheClient) {
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(request("198.51.100.7").allowed);
    const Nanos refused_at = clock.now();
    ASSERT_FALSE(request("198.51.100.7").allowed);
    const std::vector<BlockEntry> entries = {
        {*parse_ip("198.51.100.7"), refused_at + 300 * 1'000'000'000LL, "quota:per-ip"}};
    EXPECT_EQ(blocks.entries(clock.now()), entries);
}

TEST_F(StoreReplyTest, ChecksTheStoreSkippedLeaveNoOutcomeAndAreNotCounted) {
    Quota site = testing::make_quota("site", "/v1/*", 1000, 1min);
    site.key = QuotaKey{KeyKind::global, ""};
    Quota per_ip = testing::make_quota("per-ip", "/v1/*", 3, 1min, Algorithm::fixed_window);
    limiter.set_policy(std::make_shared<const Policy>(std::vector<Quota>{site, per_ip}, HeaderStyle::draft));
    StoreCall call;
    Decision d = limiter.prepare({"GET", "/v1/x", "192.0.2.1", nullptr}, call);
    ASSERT_EQ(call.checks.size(), 2u);
    // A network store's cached refusal of one key: the other was not evaluated.
    const std::size_t refusing = d.outcomes[0].quota->spec.name == "per-ip" ? 0 : 1;
    call.results[1 - refusing].skipped = true;
    call.results[refusing].evaluation.retry_after = 20 * 1'000'000'000LL;
    call.results[refusing].evaluation.reset = 40 * 1'000'000'000LL;
    limiter.finish(d, call, StoreReply::refused);
    EXPECT_FALSE(d.allowed);
    ASSERT_EQ(d.outcomes.size(), 1u) << "no verdict is known for the skipped quota";
    EXPECT_EQ(d.outcomes[0].quota->spec.name, "per-ip");
    EXPECT_EQ(d.refusing, 0);
    EXPECT_EQ(d.headline, 0);
    EXPECT_EQ(make_refusal(d).headers.front(), (std::pair<std::string, std::string>{"Retry-After", "20"}));
    EXPECT_EQ(limiter.policy()->find("site")->counters->total(QuotaCounters::Outcome::allowed), 0u);
    EXPECT_EQ(counted(QuotaCounters::Outcome::limited), 1u);
}

TEST_F(StoreReplyTest, OnErrorOpenForwardsWithoutAnyQuotasVerdictOrHeaders) {
    limiter.set_on_store_error(OnStoreError::open);
    store.set_available(false);
    for (int i = 0; i < 5; ++i) {
        const Decision d = request();
        EXPECT_TRUE(d.allowed);
        EXPECT_TRUE(d.store_unavailable);
        EXPECT_TRUE(d.outcomes.empty());
        EXPECT_EQ(d.headline, -1);
        EXPECT_TRUE(rate_limit_headers(d).empty());
    }
    EXPECT_EQ(counted(QuotaCounters::Outcome::allowed), 0u) << "no quota decided";
    store.set_available(true);
    EXPECT_EQ(request().outcomes[0].remaining, 2u) << "the store counted none of them";
}

TEST_F(StoreReplyTest, OnErrorClosedRefusesWith503AndBlocksNobody) {
    limiter.set_on_store_error(OnStoreError::closed);
    store.set_available(false);
    const Decision d = request("198.51.100.7");
    EXPECT_FALSE(d.allowed);
    EXPECT_TRUE(d.store_unavailable);
    EXPECT_EQ(d.refusing, -1);
    EXPECT_EQ(d.blocked_for, 0);
    const Refusal refusal = make_refusal(d);
    EXPECT_EQ(refusal.status, 503u);
    EXPECT_EQ(refusal.body,
              R"({"error":"service_unavailable","message":"The quota store is unavailable. Retry later."})");
    EXPECT_EQ(refusal.headers, (HeaderFields{{"Retry-After", "1"}}));
    EXPECT_EQ(counted(QuotaCounters::Outcome::limited), 0u);
    EXPECT_TRUE(blocks.entries(clock.now()).empty());
}

TEST_F(StoreReplyTest, ARequestNoQuotaCountsNeverAsksTheStore) {
    StoreCall call;
    const Decision d = limiter.prepare({"GET", "/health", "192.0.2.1", nullptr}, call);
    EXPECT_TRUE(d.allowed);
    EXPECT_TRUE(call.checks.empty());
}

TEST_F(StoreReplyTest, DecideAtOnceRefusesAStoreThatDefers) {
    try {
        limiter.decide({"GET", "/v1/x", "192.0.2.1", nullptr}, store);
        FAIL() << "no exception";
    } catch (const std::logic_error& e) {
        EXPECT_STREQ(e.what(), "Limiter::decide needs a store that answers at once");
    }
}

}  // namespace
}  // namespace sluice
