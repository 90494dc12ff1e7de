#include "limit/limiter.h"
#include "store/local_store.h"
#include "proxy/rate_limit_headers.h"

#include "tests/support/fake_clock.h"

#include <gtest/gtest.h>

#include <map>
#include <tuple>

using namespace std::chrono_literals;

namespace sluice {
namespace {

class MapHeaders final : public HeaderLookup {
public:
    std::map<std::string, std::string> fields;  // lower-case names
    std::string_view get(std::string_view name) const override {
        const auto it = fields.find(std::string(name));
        return it == fields.end() ? std::string_view{} : std::string_view(it->second);
    }
};

class LimiterTest : public ::testing::Test {
protected:
    void use(std::vector<Quota> quotas, HeaderStyle style = HeaderStyle::draft) {
        limiter = std::make_unique<Limiter>(std::make_shared<const Policy>(std::move(quotas), style), store, clock,
                                            KeyedHasher(1, 2));
    }
    Decision request(std::string_view method, std::string_view path, std::string_view ip = "192.0.2.1") {
        return limiter->decide({method, path, ip, &headers}, store);
    }
    static std::string field(const HeaderFields& fields, std::string_view name) {
        for (const auto& [n, v] : fields)
            if (n == name) return v;
        return "<absent>";
    }

    testing::FakeClock clock;
    LocalStore store{10'000};
    MapHeaders headers;
    std::unique_ptr<Limiter> limiter;
};

Quota fixed(std::string name, std::string path, double rate, std::chrono::nanoseconds interval) {
    return testing::make_quota(std::move(name), std::move(path), rate, interval, Algorithm::fixed_window);
}

TEST_F(LimiterTest, PerIpAndPerTokenQuotasBothCountAndARefusalConsumesNeither) {
    Quota per_ip = fixed("per-ip", "/v1/*", 200, 1min);
    Quota per_token = fixed("exchange", "/v1/auth/exchange", 10, 1min);
    per_token.method = "POST";
    per_token.key = {KeyKind::bearer_token, ""};
    use({per_ip, per_token});
    headers.fields["authorization"] = "Bearer A";

    for (int i = 0; i < 10; ++i) ASSERT_TRUE(request("POST", "/v1/auth/exchange").allowed);
    const Decision refused = request("POST", "/v1/auth/exchange");
    ASSERT_FALSE(refused.allowed);
    EXPECT_EQ(refused.outcomes[refused.refusing].quota->spec.name, "exchange");

    const Decision next = request("GET", "/v1/things");
    EXPECT_EQ(field(rate_limit_headers(next), "RateLimit-Remaining"), "189")
        << "10 exchanges counted per IP, the refused one not";

    headers.fields["authorization"] = "Bearer B";
    EXPECT_TRUE(request("POST", "/v1/auth/exchange").allowed);
}

TEST_F(LimiterTest, RequestWithoutTheKeyIsNotCountedByThatQuota) {
    Quota per_key = fixed("per-key", "/api/*", 1, 1min);
    per_key.key = {KeyKind::header, "X-API-Key"};
    use({per_key});
    for (int i = 0; i < 3; ++i) {
        const Decision d = request("GET", "/api/x");
        EXPECT_TRUE(d.allowed);
        EXPECT_TRUE(d.outcomes.empty());
    }
    headers.fields["x-api-key"] = "k1";
    EXPECT_TRUE(request("GET", "/api/x").allowed);
    EXPECT_FALSE(request("GET", "/api/x").allowed);
    headers.fields["x-api-key"] = "k2";
    EXPECT_TRUE(request("GET", "/api/x").allowed);
}

TEST_F(LimiterTest, DraftHeadersCountDownAndRefusalCarriesRetryAfterAndBody) {
    use({fixed("per-ip", "/v1/*", 3, 1min)});
    const HeaderFields first = rate_limit_headers(request("GET", "/v1/a"));
    EXPECT_EQ(first, (HeaderFields{{"RateLimit-Limit", "3"}, {"RateLimit-Remaining", "2"}, {"RateLimit-Reset", "60"}}));
    request("GET", "/v1/a");
    clock.advance(20s + 1ms);
    const Decision last = request("GET", "/v1/a");
    EXPECT_EQ(field(rate_limit_headers(last), "RateLimit-Remaining"), "0");
    EXPECT_EQ(field(rate_limit_headers(last), "RateLimit-Reset"), "40");  // 39.999 s, rounded up

    const Decision refused = request("GET", "/v1/a");
    ASSERT_FALSE(refused.allowed);
    const Refusal r = make_refusal(refused);
    EXPECT_EQ(r.status, 429u);
    EXPECT_EQ(
        r.body,
        R"({"error":"rate_limit_exceeded","message":"Too many requests. Rate limit exceeded.","quota":"per-ip"})");
    EXPECT_EQ(
        r.headers,
        (HeaderFields{
            {"Retry-After", "40"}, {"RateLimit-Limit", "3"}, {"RateLimit-Remaining", "0"}, {"RateLimit-Reset", "40"}}));
}

TEST_F(LimiterTest, RetryAfterIsNeverZero) {
    use({testing::make_quota("fast", "", 1000, 1s)});
    for (int i = 0; i < 1000; ++i) request("GET", "/");
    const Decision refused = request("GET", "/");
    ASSERT_FALSE(refused.allowed);
    EXPECT_EQ(refused.outcomes[0].retry_after, 1'000'000);  // 1 ms
    EXPECT_EQ(make_refusal(refused).headers.front(), (std::pair<std::string, std::string>{"Retry-After", "1"}));
}

TEST_F(LimiterTest, XRateLimitHeadersIncludeTheWindow) {
    use({fixed("scans", "/api/v1/scans", 10, 1min)}, HeaderStyle::x_ratelimit);
    EXPECT_EQ(rate_limit_headers(request("POST", "/api/v1/scans")), (HeaderFields{{"X-RateLimit-Limit", "10"},
                                                                                  {"X-RateLimit-Remaining", "9"},
                                                                                  {"X-RateLimit-Reset", "60"},
                                                                                  {"X-RateLimit-Window", "60"}}));
}

TEST_F(LimiterTest, IetfHeadersListEveryApplyingPolicy) {
    Quota per_ip = fixed("ip", "/v1/*", 100, 1min);
    Quota global = fixed("all", "", 1000, 1h);
    global.key = {KeyKind::global, ""};
    use({per_ip, global}, HeaderStyle::ietf);
    const HeaderFields h = rate_limit_headers(request("GET", "/v1/x"));
    EXPECT_EQ(field(h, "RateLimit-Policy"), R"("ip";q=100;w=60, "all";q=1000;w=3600)");
    EXPECT_EQ(field(h, "RateLimit"), R"("ip";r=99;t=60, "all";r=999;t=3600)");
}

TEST_F(LimiterTest, HeadersDescribeTheMostRestrictiveQuotaAndPerQuotaStyleOverrides) {
    Quota per_ip = fixed("ip", "/v1/*", 100, 1min);
    Quota per_token = fixed("token", "/v1/*", 5, 1min);
    per_token.key = {KeyKind::bearer_token, ""};
    per_token.headers = HeaderStyle::x_ratelimit;
    use({per_ip, per_token});
    headers.fields["authorization"] = "Bearer t";
    const HeaderFields h = rate_limit_headers(request("GET", "/v1/x"));
    EXPECT_EQ(field(h, "X-RateLimit-Remaining"), "4");
    EXPECT_EQ(field(h, "RateLimit-Remaining"), "<absent>");
}

TEST_F(LimiterTest, StyleNoneSendsNoHeadersButRefusalKeepsRetryAfter) {
    use({fixed("q", "", 1, 1min)}, HeaderStyle::none);
    EXPECT_TRUE(rate_limit_headers(request("GET", "/")).empty());
    const Refusal r = make_refusal(request("GET", "/"));
    EXPECT_EQ(r.headers, (HeaderFields{{"Retry-After", "60"}}));
}

TEST_F(LimiterTest, DryRunNeverRefusesButReportsZeroRemaining) {
    Quota q = fixed("dry", "/v1/*", 2, 1min);
    q.mode = QuotaMode::dry_run;
    use({q});
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(request("GET", "/v1/x").allowed);
    const Decision d = request("GET", "/v1/x");
    EXPECT_FALSE(d.outcomes[0].allowed);
    EXPECT_EQ(field(rate_limit_headers(d), "RateLimit-Remaining"), "0");
}

TEST_F(LimiterTest, ConfiguredResponseReplacesTheDefault) {
    Quota q = fixed("q", "", 1, 1min);
    q.response = RefusalResponse{503, R"({"message":"Rate limit exceeded"})", {{"X-Why", "quota"}}};
    use({q});
    request("GET", "/");
    const Refusal r = make_refusal(request("GET", "/"));
    EXPECT_EQ(r.status, 503u);
    EXPECT_EQ(r.body, R"({"message":"Rate limit exceeded"})");
    EXPECT_EQ(r.headers.back(), (std::pair<std::string, std::string>{"X-Why", "quota"}));
}

TEST_F(LimiterTest, BlockIntervalRefusesForTheWholeBlock) {
    Quota q = fixed("vault", "/v1/secret/*", 2, 10s);
    q.block_interval = 5min;
    use({q});
    request("GET", "/v1/secret/a");
    request("GET", "/v1/secret/a");
    const Decision first_refusal = request("GET", "/v1/secret/a");
    EXPECT_EQ(make_refusal(first_refusal).headers.front().second, "300");
    clock.advance(1min);
    const Decision still = request("GET", "/v1/secret/a");
    EXPECT_FALSE(still.allowed);
    EXPECT_EQ(make_refusal(still).headers.front().second, "240");
    clock.advance(4min);
    EXPECT_TRUE(request("GET", "/v1/secret/a").allowed);
}

// Records what reaches the block list's listener, as the XDP controller
// would receive it.
class RecordingBlockListener final : public BlockListener {
public:
    std::vector<std::tuple<std::string, Nanos, std::string>> blocks;
    void client_blocked(const IpAddress& client, Nanos until, std::string_view origin) override {
        blocks.emplace_back(client.to_string(), until, origin);
    }
    void client_unblocked(const IpAddress& client) override { blocks.emplace_back(client.to_string(), 0, "unblocked"); }
};

class LimiterBlockTest : public LimiterTest {
protected:
    void use_with_blocks(std::vector<Quota> quotas) {
        use(std::move(quotas));
        blocks.set_listener(&listener);
        limiter->set_block_list(&blocks);
    }
    BlockList blocks{100};
    RecordingBlockListener listener;
};

TEST_F(LimiterBlockTest, ClientIpBlockGoesOnTheBlockListWithItsEndAndOrigin) {
    Quota q = fixed("per-ip", "", 2, 10s);
    q.block_interval = 30s;
    use_with_blocks({q});
    request("GET", "/a", "198.51.100.7");
    request("GET", "/a", "198.51.100.7");
    EXPECT_TRUE(listener.blocks.empty());  // allowed requests report nothing
    const Nanos refused_at = clock.now();
    ASSERT_FALSE(request("GET", "/a", "198.51.100.7").allowed);
    clock.advance(10s);
    const Decision still = request("GET", "/a", "198.51.100.7");
    ASSERT_FALSE(still.allowed);
    EXPECT_EQ(still.blocked_for, 0) << "refused by the quota (within its paths, as Vault), not outright";
    EXPECT_EQ(make_refusal(still).headers.front(), (std::pair<std::string, std::string>{"Retry-After", "20"}));

    const Nanos until = refused_at + Nanos{30'000'000'000};
    const std::vector<BlockEntry> entries = {{*parse_ip("198.51.100.7"), until, "quota:per-ip"}};
    EXPECT_EQ(blocks.entries(clock.now()), entries);
    const std::vector<std::tuple<std::string, Nanos, std::string>> expected = {
        {"198.51.100.7", until, "quota:per-ip"},  // once: the block, not each refusal
    };
    EXPECT_EQ(listener.blocks, expected);
}

TEST_F(LimiterBlockTest, OnlyEnforcedClientIpBlocksGoOnTheBlockList) {
    Quota by_token = fixed("per-token", "/t", 1, 10s);
    by_token.key = {KeyKind::bearer_token, ""};
    by_token.block_interval = 30s;
    Quota dry = fixed("dry", "/d", 1, 10s);
    dry.mode = QuotaMode::dry_run;
    dry.block_interval = 30s;
    Quota no_block = fixed("plain", "/p", 1, 10s);
    use_with_blocks({by_token, dry, no_block});
    headers.fields["authorization"] = "Bearer A";
    for (const char* path : {"/t", "/d", "/p"}) {
        request("GET", path);
        request("GET", path);
    }
    EXPECT_FALSE(request("GET", "/t").allowed);
    EXPECT_FALSE(request("GET", "/p").allowed);
    EXPECT_TRUE(blocks.empty());
    EXPECT_TRUE(listener.blocks.empty());
}

TEST_F(LimiterTest, NewPolicyKeepsCountersOfUnchangedQuotas) {
    Quota kept = fixed("kept", "/a", 5, 1min);
    Quota changed = fixed("changed", "/b", 5, 1min);
    use({kept, changed});
    request("GET", "/a");
    request("GET", "/b");
    changed.rate = 7;
    limiter->set_policy(std::make_shared<const Policy>(std::vector<Quota>{kept, changed}, HeaderStyle::draft));
    EXPECT_EQ(request("GET", "/a").outcomes[0].remaining, 3u);
    EXPECT_EQ(request("GET", "/b").outcomes[0].remaining, 6u);
}

TEST_F(LimiterTest, ExemptPathsAreNeitherCountedNorGivenHeaders) {
    QuotaSettings settings;
    settings.exempt_paths = {"/health", "/v1/sys/*"};
    limiter = std::make_unique<Limiter>(
        std::make_shared<const Policy>(std::vector<Quota>{fixed("all", "", 1, 1min)}, HeaderStyle::draft, settings),
        store, clock, KeyedHasher(1, 2));
    for (const char* path : {"/health", "/v1/sys/x", "/v1/sys/"}) {
        const Decision d = request("GET", path);
        EXPECT_TRUE(d.allowed && d.exempt) << path;
        EXPECT_TRUE(rate_limit_headers(d).empty()) << path;
    }
    EXPECT_TRUE(request("GET", "/healthz").allowed);  // exact: not a prefix
    EXPECT_FALSE(request("GET", "/health/x").allowed);
}

TEST_F(LimiterTest, ResponseHeadersOffLeavesRefusalsOnlyRetryAfter) {
    QuotaSettings settings;
    settings.response_headers = false;
    limiter = std::make_unique<Limiter>(
        std::make_shared<const Policy>(std::vector<Quota>{fixed("q", "", 1, 1min)}, HeaderStyle::draft, settings),
        store, clock, KeyedHasher(1, 2));
    EXPECT_TRUE(rate_limit_headers(request("GET", "/")).empty());
    EXPECT_EQ(make_refusal(request("GET", "/")).headers, (HeaderFields{{"Retry-After", "60"}}));
}

TEST_F(LimiterTest, CountersHoldEachQuotasOwnVerdictAcrossPolicyChanges) {
    Quota per_ip = fixed("per-ip", "", 2, 1min);
    Quota dry = fixed("dry", "/d", 1, 1min);
    dry.key = {KeyKind::global, ""};
    dry.mode = QuotaMode::dry_run;
    use({per_ip, dry});
    for (int i = 0; i < 3; ++i) request("GET", "/d");
    const CompiledQuota& counted = *limiter->policy()->find("per-ip");
    EXPECT_EQ(counted.counters->total(QuotaCounters::Outcome::allowed), 2u);
    EXPECT_EQ(counted.counters->total(QuotaCounters::Outcome::limited), 1u);
    const QuotaCounters& dry_counters = *limiter->policy()->find("dry")->counters;
    EXPECT_EQ(dry_counters.total(QuotaCounters::Outcome::allowed), 1u);
    EXPECT_EQ(dry_counters.total(QuotaCounters::Outcome::dry_run),
              2u);  // its own verdict: the third was refused by per-ip as well

    per_ip.rate = 5;
    const Policy* before = limiter->policy().get();
    limiter->set_policy(
        std::make_shared<const Policy>(std::vector<Quota>{per_ip}, HeaderStyle::draft, QuotaSettings{}, before));
    request("GET", "/x");
    EXPECT_EQ(limiter->policy()->find("per-ip")->counters->total(QuotaCounters::Outcome::allowed), 3u);
}

TEST_F(LimiterBlockTest, BlockedClientIsRefusedWithTheBlocksRetryAfter) {
    use_with_blocks({fixed("q", "", 100, 1min)});
    blocks.add(*parse_ip("198.51.100.9"), clock.now() + Nanos{90'500'000'000}, "api");
    const Decision d = request("GET", "/", "198.51.100.9");
    EXPECT_FALSE(d.allowed);
    EXPECT_TRUE(d.outcomes.empty()) << "no quota consumed";
    const Refusal r = make_refusal(d);
    EXPECT_EQ(r.status, 429u);
    EXPECT_EQ(r.body, R"({"error":"blocked","message":"This client is blocked. Retry later."})");
    EXPECT_EQ(r.headers, (HeaderFields{{"Retry-After", "91"}}));
    EXPECT_TRUE(request("GET", "/", "198.51.100.10").allowed);
}

TEST_F(LimiterBlockTest, ForgiveEndsTheQuotaBlockOfThatClientOnly) {
    Quota q = fixed("per-ip", "", 1, 1h);
    q.block_interval = 1h;
    use_with_blocks({q});
    for (const char* ip : {"198.51.100.7", "198.51.100.8"}) {
        request("GET", "/", ip);
        request("GET", "/", ip);
    }
    blocks.client_unblocked(*parse_ip("198.51.100.7"));
    limiter->forgive("198.51.100.7");
    EXPECT_TRUE(request("GET", "/", "198.51.100.7").allowed);
    EXPECT_FALSE(request("GET", "/", "198.51.100.8").allowed);
}

TEST_F(LimiterTest, UsageReadsAKeyWithoutCountingIt) {
    Quota by_key = fixed("by-key", "", 10, 1min);
    by_key.key = {KeyKind::header, "X-API-Key"};
    use({by_key});
    headers.fields["x-api-key"] = "secret";
    for (int i = 0; i < 4; ++i) request("GET", "/");
    const std::optional<Limiter::KeyUsage> usage = limiter->usage("by-key", "secret");
    ASSERT_TRUE(usage);
    EXPECT_EQ(usage->usage.used, 4u);
    EXPECT_EQ(usage->usage.remaining, 6u);
    EXPECT_EQ(limiter->usage("by-key", "secret")->usage.used, 4u);
    EXPECT_EQ(limiter->usage("by-key", "other")->usage.used, 0u);
    EXPECT_FALSE(limiter->usage("absent", "secret"));
}

}  // namespace
}  // namespace sluice
