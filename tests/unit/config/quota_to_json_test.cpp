#include "config/quota_to_json.h"

#include "tests/support/fake_clock.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace sluice {
namespace {

Quota every_field_set() {
    Quota q;
    q.name = "scans.create-1";
    q.path = "/api/v1/scans/{id}";
    q.method = "POST";
    q.key = {KeyKind::header, "X-API-Key"};
    q.rate = 10.5;
    q.interval = 1500ms;
    q.burst = 20.25;
    q.algorithm = Algorithm::token_bucket;  // burst needs it
    q.block_interval = 90s + 1ns;
    q.mode = QuotaMode::dry_run;
    q.cumulative = true;
    q.response =
        RefusalResponse{503, R"({"message":"slow down","n":[1,2.5,null]})", {{"Retry-After", "5"}, {"X-Why", "quota"}}};
    q.headers = HeaderStyle::x_ratelimit;
    q.role = "ops";
    q.inheritable = true;
    return q;
}

Quota parsed(const Json& object) {
    std::vector<ConfigError> errors;
    Quota q = parse_quota(JsonField(object, "", errors));
    for (const ConfigError& e : errors) ADD_FAILURE() << e.path << ": " << e.reason;
    return q;
}

TEST(QuotaToJson, ParseQuotaReadsBackAQuotaWithEveryFieldSet) {
    const Quota q = every_field_set();
    EXPECT_EQ(parsed(quota_to_json(q)), q);
}

TEST(QuotaToJson, ParseQuotaReadsBackDefaultsAndOtherKinds) {
    for (KeyKind kind : {KeyKind::client_ip, KeyKind::bearer_token, KeyKind::global}) {
        Quota q = testing::make_quota("w", "", 3, 2min, Algorithm::sliding_window);
        q.key.kind = kind;
        EXPECT_EQ(parsed(quota_to_json(q)), q);
    }
    Quota fixed = testing::make_quota("f", "/v1/*", 897.3, 1ns, Algorithm::fixed_window);
    fixed.response = RefusalResponse{};  // status only: the default body
    EXPECT_EQ(parsed(quota_to_json(fixed)), fixed);
}

TEST(QuotaToJson, WritesExactDurationsAndLeavesOutWhatIsUnset) {
    EXPECT_EQ(
        quota_to_json(every_field_set()).dump(),
        R"({"name":"scans.create-1","path":"/api/v1/scans/{id}","method":"POST","key":"header:X-API-Key",)"
        R"("rate":10.5,"interval":"1500ms","burst":20.25,"algorithm":"token_bucket","block_interval":"90000000001ns",)"
        R"("mode":"dry_run","cumulative":true,"response":{"status":503,"body":{"message":"slow down","n":[1,2.5,null]},)"
        R"("headers":{"Retry-After":"5","X-Why":"quota"}},"headers":"x-ratelimit","role":"ops","inheritable":true})");
    EXPECT_EQ(quota_to_json(testing::make_quota("g", "", 200, 1min)).dump(),
              R"({"name":"g","path":"","key":"client_ip","rate":200,"interval":"1m","algorithm":"token_bucket",)"
              R"("block_interval":"0s","mode":"enforce","cumulative":false,"role":"","inheritable":false})");
}

TEST(QuotaToJson, ExactDurationUsesTheLargestUnitThatIsExact) {
    EXPECT_EQ(exact_duration(0s), "0s");
    EXPECT_EQ(exact_duration(1500ms), "1500ms");
    EXPECT_EQ(exact_duration(2min), "2m");
    EXPECT_EQ(exact_duration(90s), "90s");
    EXPECT_EQ(exact_duration(3h), "3h");
    EXPECT_EQ(exact_duration(1001us), "1001us");
    EXPECT_EQ(exact_duration(1ns), "1ns");
}

TEST(QuotaViewJson, VaultFieldsFirstWithIntervalsInSeconds) {
    Quota q = testing::make_quota("per-ip", "/v1/*", 200, 1min);
    q.block_interval = 5min;
    EXPECT_EQ(quota_view_json(q, "api").dump(),
              R"({"name":"per-ip","path":"/v1/*","type":"rate-limit","rate":200,"interval":60,"block_interval":300,)"
              R"("role":"","inheritable":false,"method":null,"key":"client_ip","algorithm":"token_bucket","burst":200,)"
              R"("mode":"enforce","cumulative":false,"response":null,"headers":null,"defined_in":"api"})");
}

TEST(QuotaViewJson, FractionalSecondsAndEverySluiceField) {
    EXPECT_EQ(
        quota_view_json(every_field_set(), "/etc/sluice/quotas.d/scans.json").dump(),
        R"({"name":"scans.create-1","path":"/api/v1/scans/{id}","type":"rate-limit","rate":10.5,"interval":1.5,)"
        R"("block_interval":90.000000001,"role":"ops","inheritable":true,"method":"POST","key":"header:X-API-Key",)"
        R"("algorithm":"token_bucket","burst":20.25,"mode":"dry_run","cumulative":true,)"
        R"("response":{"status":503,"body":{"message":"slow down","n":[1,2.5,null]},"headers":{"Retry-After":"5","X-Why":"quota"}},)"
        R"("headers":"x-ratelimit","defined_in":"/etc/sluice/quotas.d/scans.json"})");
}

TEST(JsonNumber, WholeValuesHaveNoFraction) {
    EXPECT_EQ(json_number(10).dump(), "10");
    EXPECT_EQ(json_number(0.5).dump(), "0.5");
    EXPECT_EQ(json_number(897.3).dump(), "897.3");
    EXPECT_EQ(json_number(1e300).dump(), "1e+300");
}

}  // namespace
}  // namespace sluice
