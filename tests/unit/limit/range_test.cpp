// The edges of what a quota can ask for: very slow rates, very long
// intervals and blocks, very large numbers. Each either limits exactly or is
// refused at load naming the field.
#include "config/quota_json.h"
#include "limit/limiter.h"
#include "store/local_store.h"
#include "proxy/rate_limit_headers.h"

#include "tests/support/fake_clock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

namespace sluice {
namespace {

using Days = std::chrono::duration<std::int64_t, std::ratio<86400>>;

// The errors of one quota object, as "path: reason".
std::vector<std::string> errors_of(const std::string& quota_json) {
    const Json value = Json::parse(quota_json);
    std::vector<ConfigError> errors;
    parse_quota(JsonField(value, "quotas[0]", errors));
    std::vector<std::string> out;
    for (const ConfigError& e : errors) out.push_back(e.path + ": " + e.reason);
    return out;
}

Quota parsed(const std::string& quota_json) {
    const Json value = Json::parse(quota_json);
    std::vector<ConfigError> errors;
    Quota quota = parse_quota(JsonField(value, "quotas[0]", errors));
    for (const ConfigError& e : errors) ADD_FAILURE() << e.path << ": " << e.reason;
    return quota;
}

TEST(LimitRange, RatesSlowerThanOnePer36500DaysAreRefusedNamingTheRate) {
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 1e-10})"),
                ElementsAre("quotas[0].rate: 1e-10 per 1s is below the smallest supported rate (1 per 36500d)"));
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 0.5, "interval": "20000d"})"),
                ElementsAre("quotas[0].rate: 0.5 per 20000d is below the smallest supported rate (1 per 36500d)"));
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 5e-324, "interval": "1ns"})"),
                ElementsAre("quotas[0].rate: 4.94065645841247e-324 per 1ns is below the smallest supported rate (1 per "
                            "36500d)"));
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 1, "interval": "36500d"})"), IsEmpty());
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 0.5, "interval": "18250d"})"), IsEmpty());
}

TEST(LimitRange, IntervalsAndBlocksLongerThan36500DaysAreRefused) {
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 1, "interval": "36501d", "block_interval": "876001h"})"),
                ElementsAre(R"(quotas[0].interval: "36501d" is longer than the longest supported (36500d))",
                            R"(quotas[0].block_interval: "876001h" is longer than the longest supported (36500d))"));
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 1, "algorithm": "sliding_window", "interval": 3153600001})"),
                ElementsAre("quotas[0].interval: 3153600001 seconds is longer than the longest supported (36500d)"));
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 1, "interval": 1e15})"),
                ElementsAre("quotas[0].interval: 1e+15 seconds is out of range"));
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 1, "interval": "1e15s"})"),
                ElementsAre(R"(quotas[0].interval: "1e15s" is not a duration)"));
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 1, "algorithm": "fixed_window", "interval": "36500d",
                             "block_interval": "36500d"})"),
                IsEmpty());
}

TEST(LimitRange, TokenBucketRatesAboveOnePerNanosecondAreRefused) {
    EXPECT_THAT(
        errors_of(R"({"name": "q", "rate": 1000000000, "interval": "1ms"})"),
        ElementsAre("quotas[0].rate: 1000000000 per 1ms is above the largest supported token_bucket rate (1 per "
                    "1ns)"));
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 1000000000, "interval": "1s"})"), IsEmpty());
    // Windows count requests, not time per request.
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 1000000000, "interval": "1ms", "algorithm": "fixed_window"})"),
                IsEmpty());
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 1e300})"),
                ElementsAre("quotas[0].rate: must be at most 1000000000"));
}

TEST(LimitRange, ABurstThatTakesLongerThan36500DaysToRefillIsRefused) {
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 1, "interval": "30000d", "burst": 2})"),
                ElementsAre("quotas[0].burst: 2 at 1 per 30000d takes 60000d to refill, longer than the longest "
                            "supported (36500d)"));
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 1, "interval": "1s", "burst": 1e300})"),
                ElementsAre("quotas[0].burst: must be at most 1000000000"));
    EXPECT_THAT(errors_of(R"({"name": "q", "rate": 2, "interval": "36500d", "burst": 2})"), IsEmpty());
}

class SlowQuotaTest : public ::testing::Test {
protected:
    void use(const std::string& quota_json) {
        limiter = std::make_unique<Limiter>(
            std::make_shared<const Policy>(std::vector<Quota>{parsed(quota_json)}, HeaderStyle::draft), store, clock,
            KeyedHasher(1, 2));
    }
    Decision request() { return limiter->decide({"GET", "/", "192.0.2.1", nullptr}, store); }
    int admitted(int attempts) {
        int allowed = 0;
        for (int i = 0; i < attempts; ++i) allowed += request().allowed;
        return allowed;
    }
    // The Retry-After of a request that must be refused.
    std::string retry_after() {
        const Decision refused = request();
        EXPECT_FALSE(refused.allowed);
        if (refused.allowed) return "<allowed>";
        return make_refusal(refused).headers.front().second;
    }

    // Once in `wait`, and only then, one more request passes.
    void expect_next_after(std::chrono::nanoseconds wait) {
        clock.advance(wait - 1ns);
        EXPECT_EQ(admitted(1), 0);
        clock.advance(1ns);
        EXPECT_EQ(admitted(10), 1);
    }

    testing::FakeClock clock;
    LocalStore store{100};
    std::unique_ptr<Limiter> limiter;
};

constexpr std::chrono::seconds k30000Days = Days(30000);

TEST_F(SlowQuotaTest, OnePer30000DaysAdmitsOneThenRefusesUntilItsTime) {
    for (const std::string algorithm : {"token_bucket", "fixed_window"}) {
        SCOPED_TRACE(algorithm);
        use(R"({"name": "q", "rate": 1, "interval": "30000d", "algorithm": ")" + algorithm + R"("})");
        EXPECT_EQ(admitted(10), 1);
        EXPECT_EQ(retry_after(), "2592000000");
        clock.advance(1h);
        EXPECT_EQ(retry_after(), "2591996400");
        expect_next_after(k30000Days - 1h);
    }
}

// The window's one request still weighs on the next window until its end.
TEST_F(SlowQuotaTest, OnePer30000DaysInASlidingWindowWaitsTwoIntervals) {
    use(R"({"name": "q", "rate": 1, "interval": "30000d", "algorithm": "sliding_window"})");
    EXPECT_EQ(admitted(10), 1);
    EXPECT_EQ(retry_after(), "5184000000");
    expect_next_after(2 * k30000Days);
}

TEST_F(SlowQuotaTest, TheSlowestRateAndLongestBlockCountExactly) {
    use(R"({"name": "q", "rate": 0.5, "interval": "18250d"})");
    EXPECT_EQ(admitted(10), 1);
    EXPECT_EQ(retry_after(), "3153600000");
    expect_next_after(Days(36500));

    use(R"({"name": "b", "rate": 1, "interval": "1s", "block_interval": "36500d"})");
    EXPECT_EQ(admitted(2), 1);
    EXPECT_EQ(retry_after(), "3153600000");
    clock.advance(Days(36500) - 1ns);
    EXPECT_EQ(admitted(1), 0);
    clock.advance(1ns);
    EXPECT_EQ(admitted(10), 1);
}

}  // namespace
}  // namespace sluice
