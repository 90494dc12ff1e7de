// Every route of the admin API through AdminApi::handle, on a real
// ControlPlane: status, exact body and headers of each success and failure.
#include "admin/api.h"
#include "store/local_store.h"

#include "config/quota_json.h"

#include "tests/support/fake_clock.h"
#include "tests/support/fake_fleet_monitor.h"
#include "tests/support/fleet_nodes_data.h"
#include "tests/support/temp_folder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <time.h>

#include <regex>

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

namespace sluice {
namespace {

constexpr const char* kToken = "0123456789abcdef";
using Header = std::pair<std::string, std::string>;

std::string utc_text(std::chrono::system_clock::time_point t) {
    const time_t seconds = std::chrono::ceil<std::chrono::seconds>(t.time_since_epoch()).count();
    tm utc{};
    gmtime_r(&seconds, &utc);
    char text[32];
    strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

class AdminApiTest : public ::testing::Test {
protected:
    AdminApiTest() {
        Config config;
        config.state_dir = folder / "state";
        config.quotas = {testing::make_quota("file-quota", "/file", 2, 1min)};
        config.quota_sources = {"/etc/sluice/sluice.json"};
        limiter.set_block_list(&blocks);
        control.start(config);
    }

    AdminResponse call(const std::string& method, const std::string& target, const std::string& body = "") {
        return api.handle({method, target, {.vault_token = kToken}, body});
    }
    // As a host whose store is Redis answers: with `fleet`.
    AdminResponse call_in_fleet(const std::string& method, const std::string& target) {
        return fleet_api.handle({method, target, {.vault_token = kToken}, ""});
    }
    Decision request(std::string_view path, std::string_view ip = "192.0.2.1", const HeaderLookup* headers = nullptr) {
        return limiter.decide({"GET", path, ip, headers}, store);
    }

    // The body of an envelope with its random request_id replaced by "ID",
    // after checking that it is a UUID v4.
    static std::string enveloped(const AdminResponse& response) {
        Json body = Json::parse(response.body);
        const std::string id = body.value("request_id", "");
        EXPECT_TRUE(
            std::regex_match(id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
            << id;
        body["request_id"] = "ID";
        return body.dump();
    }
    static std::string envelope_of(const std::string& data) {
        return R"({"request_id":"ID","lease_id":"","renewable":false,"lease_duration":0,"data":)" + data +
               R"(,"wrap_info":null,"warnings":null,"auth":null,"mount_type":"system"})";
    }

    static void expect_json(const AdminResponse& r, unsigned status, const std::string& body) {
        EXPECT_EQ(r.status, status);
        EXPECT_EQ(r.body, body);
        EXPECT_EQ(r.content_type, "application/json");
        EXPECT_THAT(r.headers, IsEmpty());
    }
    static void expect_envelope(const AdminResponse& r, const std::string& data) {
        EXPECT_EQ(r.status, 200u);
        EXPECT_EQ(r.content_type, "application/json");
        EXPECT_EQ(enveloped(r), envelope_of(data));
    }
    static void expect_no_content(const AdminResponse& r) {
        EXPECT_EQ(r.status, 204u) << r.body;
        EXPECT_EQ(r.body, "");
        EXPECT_EQ(r.content_type, "");
        EXPECT_THAT(r.headers, IsEmpty());
    }
    static void expect_error(const AdminResponse& r, unsigned status, const std::string& message) {
        Json body = Json::object();
        body["errors"] = Json::array({message});
        expect_json(r, status, body.dump());
    }
    static void expect_not_allowed(const AdminResponse& r, const std::string& allowed) {
        EXPECT_EQ(r.status, 405u);
        EXPECT_EQ(r.body, R"({"errors":["method not allowed"]})");
        EXPECT_THAT(r.headers, ElementsAre(Header{"Allow", allowed}));
    }

    testing::TempFolder folder;
    testing::FakeClock clock;
    LocalStore store{1000};
    Limiter limiter{std::make_shared<const Policy>(std::vector<Quota>{}, HeaderStyle::draft), store, clock,
                    KeyedHasher(1, 2)};
    BlockList blocks{3};
    ControlPlane control{limiter, blocks, nullptr, clock};
    AdminApi api{control, AdminAuth(kToken), [] { return std::string("sluice_up 1\n"); }, "1.2.3"};
    testing::FakeFleetMonitor fleet;
    AdminApi fleet_api{control, AdminAuth(kToken), [] { return std::string("sluice_up 1\n"); }, "1.2.3", &fleet};
};

// --- auth ---

TEST_F(AdminApiTest, EachOfTheThreeTokenHeadersIsAccepted) {
    for (const TokenHeaders& tokens : {TokenHeaders{.vault_token = kToken}, TokenHeaders{.sluice_token = kToken},
                                       TokenHeaders{.authorization = std::string("Bearer ") + kToken}}) {
        EXPECT_EQ(api.handle({"GET", "/v1/sys/quotas/config", tokens, ""}).status, 200u);
    }
}

TEST_F(AdminApiTest, NoTokenIs401AndAWrongOne403OnEveryPathButHealth) {
    for (const char* target : {"/v1/sys/quotas/config", "/v1/sys/quotas/rate-limit/file-quota", "/metrics",
                               "/v1/sys/blocks", "/v1/sys/nodes", "/no/such/path"}) {
        SCOPED_TRACE(target);
        expect_error(api.handle({"GET", target, {}, ""}), 401, "missing client token");
        expect_error(api.handle({"GET", target, {.vault_token = "wrong"}, ""}), 403, "permission denied");
    }
    expect_error(api.handle({"PUT", "/v1/sys/quotas/rate-limit/x", {.sluice_token = "wrong"}, R"({"rate":1})"}), 403,
                 "permission denied");
    EXPECT_FALSE(control.quota("x"));
}

// --- health and metrics ---

TEST_F(AdminApiTest, HealthNeedsNoToken) {
    const auto before = std::chrono::system_clock::now();
    const AdminResponse r = api.handle({"GET", "/v1/sys/health", {}, ""});
    const auto after = std::chrono::system_clock::now();
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.content_type, "application/json");
    const Json body = Json::parse(r.body);
    const std::int64_t time = body.at("server_time_utc").get<std::int64_t>();
    EXPECT_GE(time, std::chrono::floor<std::chrono::seconds>(before.time_since_epoch()).count());
    EXPECT_LE(time, std::chrono::floor<std::chrono::seconds>(after.time_since_epoch()).count());
    EXPECT_EQ(r.body, R"({"initialized":true,"sealed":false,"standby":false,"version":"1.2.3","server_time_utc":)" +
                          std::to_string(time) + "}");
    expect_not_allowed(api.handle({"POST", "/v1/sys/health", {}, ""}), "GET");
}

TEST_F(AdminApiTest, MetricsAreThePrometheusText) {
    const AdminResponse r = call("GET", "/metrics");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "sluice_up 1\n");
    EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    expect_not_allowed(call("POST", "/metrics"), "GET");
}

TEST_F(AdminApiTest, UnknownPathsAre404) {
    for (const char* target : {"/", "/v1/sys/quotas", "/v1/sys/quotas/rate-limit/a/b",
                               "/v1/sys/quotas/rate-limit/a/usage/x", "/v1/sys/healthz"}) {
        SCOPED_TRACE(target);
        expect_json(call("GET", target), 404, R"({"errors":[]})");
    }
    expect_error(call("GET", "/v1/sys/quotas/rate-limit/a%zz"), 400, "the URL has an invalid percent-encoding");
}

// --- quotas ---

TEST_F(AdminApiTest, PutCreatesAQuotaEnforcedOnTheNextRequestAndGetShowsItInVaultsEnvelope) {
    expect_no_content(call("PUT", "/v1/sys/quotas/rate-limit/per-ip",
                           R"({"path": "/v1/*", "rate": 2, "interval": "1m", "block_interval": 300})"));
    EXPECT_TRUE(request("/v1/x").allowed);
    EXPECT_TRUE(request("/v1/x").allowed);
    EXPECT_FALSE(request("/v1/x").allowed);
    expect_envelope(
        call("GET", "/v1/sys/quotas/rate-limit/per-ip"),
        R"({"name":"per-ip","path":"/v1/*","type":"rate-limit","rate":2,"interval":60,"block_interval":300,)"
        R"("role":"","inheritable":false,"method":null,"key":"client_ip","algorithm":"token_bucket","burst":2,)"
        R"("mode":"enforce","cumulative":false,"response":null,"headers":null,"defined_in":"api"})");
}

TEST_F(AdminApiTest, RequestIdsAreFreshUuids) {
    const AdminResponse a = call("GET", "/v1/sys/quotas/config");
    const AdminResponse b = call("GET", "/v1/sys/quotas/config");
    EXPECT_NE(Json::parse(a.body)["request_id"], Json::parse(b.body)["request_id"]);
}

TEST_F(AdminApiTest, PostWithEverySluiceFieldAndFractionalSecondsRoundTrips) {
    expect_no_content(
        call("POST", "/v1/sys/quotas/rate-limit/scans",
             R"({"name": "scans", "type": "rate-limit", "path": "/api/v1/scans/{id}", "method": "post",)"
             R"( "key": "header:X-API-Key", "rate": 10, "interval": 0.5, "burst": 15, "block_interval": "1500ms",)"
             R"( "mode": "dry_run", "cumulative": true, "headers": "x-ratelimit", "role": "r", "inheritable": true,)"
             R"( "response": {"status": 503, "body": {"slow": "down"}, "headers": {"X-A": "b"}}})"));
    expect_envelope(call("GET", "/v1/sys/quotas/rate-limit/scans"),
                    R"({"name":"scans","path":"/api/v1/scans/{id}","type":"rate-limit","rate":10,"interval":0.5,)"
                    R"("block_interval":1.5,"role":"r","inheritable":true,"method":"POST","key":"header:X-API-Key",)"
                    R"("algorithm":"token_bucket","burst":15,"mode":"dry_run","cumulative":true,)"
                    R"("response":{"status":503,"body":{"slow":"down"},"headers":{"X-A":"b"}},"headers":"x-ratelimit",)"
                    R"("defined_in":"api"})");
}

TEST_F(AdminApiTest, WhatGetAnswersCanBeWrittenBackAsItIs) {
    expect_no_content(call("PUT", "/v1/sys/quotas/rate-limit/w",
                           R"({"path": "/w", "rate": 3, "interval": "1m", "algorithm": "fixed_window"})"));
    const Quota before = control.quota("w")->quota;
    const Json data = Json::parse(call("GET", "/v1/sys/quotas/rate-limit/w").body)["data"];
    EXPECT_EQ(data["burst"], nullptr);
    EXPECT_EQ(data["response"], nullptr);
    expect_no_content(call("PUT", "/v1/sys/quotas/rate-limit/w", data.dump()));
    EXPECT_EQ(control.quota("w")->quota, before);
}

TEST_F(AdminApiTest, UpdateReplacesTheWholeQuota) {
    expect_no_content(
        call("PUT", "/v1/sys/quotas/rate-limit/q", R"({"rate": 5, "block_interval": "1m", "role": "x"})"));
    expect_no_content(call("POST", "/v1/sys/quotas/rate-limit/q", R"({"rate": 7})"));
    Quota expected = testing::make_quota("q", "", 7, 1s);
    EXPECT_EQ(control.quota("q")->quota, expected);
}

TEST_F(AdminApiTest, BadQuotaFieldsAre400InVaultsWordsOrNamingTheField) {
    const std::string url = "/v1/sys/quotas/rate-limit/q";
    expect_error(call("PUT", url, R"({"rate": 0})"), 400, "'rate' is invalid");
    expect_error(call("PUT", url, R"({"rate": -3})"), 400, "'rate' is invalid");
    expect_error(call("PUT", url, R"({"path": "/x"})"), 400, "'rate' is invalid");
    expect_error(call("PUT", url, ""), 400, "'rate' is invalid");
    expect_error(call("PUT", url, R"({"rate": 1, "block_interval": "-5s"})"), 400, "'block' is invalid");
    expect_error(call("PUT", url, R"({"rate": 1, "block_interval": -5})"), 400, "'block' is invalid");
    expect_error(call("PUT", url, R"({"rate": 1, "interval": "5x"})"), 400, R"(interval: "5x" is not a duration)");
    expect_error(call("PUT", url, R"({"rate": 1, "colour": "red"})"), 400, "colour: unknown field");
    expect_error(call("PUT", url, R"({"rate": "1"})"), 400, "rate: must be a number");
    expect_error(call("PUT", url, R"({"rate": 1, "type": "lease-count"})"), 400, R"(type: must be "rate-limit")");
    expect_error(call("PUT", url, R"({"rate": 1, "name": "other"})"), 400,
                 R"(name: "other" differs from the name in the URL, "q")");
    expect_json(call("PUT", url, R"({"rate": 0, "interval": "5x", "colour": "red"})"), 400,
                R"({"errors":["'rate' is invalid","interval: \"5x\" is not a duration","colour: unknown field"]})");
    expect_error(call("PUT", "/v1/sys/quotas/rate-limit/bad%20name", R"({"rate": 1})"), 400,
                 R"(name: "bad name" is not a valid name: use 1 to 128 of A-Z a-z 0-9 . _ -)");
    expect_error(call("PUT", url, "[1]"), 400, "request body must be a JSON object");
    expect_error(call("PUT", url, "{\"rate\": 1"), 400,
                 "invalid JSON at line 1, column 11: syntax error while parsing object - unexpected end of input; "
                 "expected '}'");
    EXPECT_FALSE(control.quota("q"));
}

TEST_F(AdminApiTest, AFileQuotaCannotBeChangedOrDeletedThroughTheApi) {
    const std::string message =
        R"(quota "file-quota" is defined in /etc/sluice/sluice.json: change it there and reload (SIGHUP))";
    expect_error(call("PUT", "/v1/sys/quotas/rate-limit/file-quota", R"({"rate": 9})"), 400, message);
    expect_error(call("DELETE", "/v1/sys/quotas/rate-limit/file-quota"), 400, message);
    expect_envelope(
        call("GET", "/v1/sys/quotas/rate-limit/file-quota"),
        R"({"name":"file-quota","path":"/file","type":"rate-limit","rate":2,"interval":60,"block_interval":0,)"
        R"("role":"","inheritable":false,"method":null,"key":"client_ip","algorithm":"token_bucket","burst":2,)"
        R"("mode":"enforce","cumulative":false,"response":null,"headers":null,)"
        R"("defined_in":"/etc/sluice/sluice.json"})");
}

TEST_F(AdminApiTest, AConflictingQuotaIs400NamingTheOther) {
    expect_error(call("PUT", "/v1/sys/quotas/rate-limit/twin", R"({"path": "/file", "rate": 1})"), 400,
                 R"(quota "twin" conflicts with quota "file-quota": same key and equally specific path)");
}

TEST_F(AdminApiTest, AChangeThatCannotBeSavedIs500AndNotApplied) {
    std::filesystem::create_directories(folder / "state" / "quotas.json" / "in-the-way");
    const AdminResponse r = call("PUT", "/v1/sys/quotas/rate-limit/q", R"({"rate": 1})");
    expect_error(
        r, 500,
        "cannot write " + (folder / "state" / "quotas.json").string() + ": Is a directory; the change is not applied");
    expect_json(call("GET", "/v1/sys/quotas/rate-limit/q"), 404, R"({"errors":[]})");
}

TEST_F(AdminApiTest, GetOfAnAbsentQuotaIs404AndDeleteIs204EitherWay) {
    expect_json(call("GET", "/v1/sys/quotas/rate-limit/absent"), 404, R"({"errors":[]})");
    expect_no_content(call("DELETE", "/v1/sys/quotas/rate-limit/absent"));
    expect_no_content(call("PUT", "/v1/sys/quotas/rate-limit/q", R"({"path": "/q", "rate": 1})"));
    EXPECT_TRUE(request("/q").allowed);
    EXPECT_FALSE(request("/q").allowed);
    expect_no_content(call("DELETE", "/v1/sys/quotas/rate-limit/q"));
    EXPECT_TRUE(request("/q").allowed);
    expect_json(call("GET", "/v1/sys/quotas/rate-limit/q"), 404, R"({"errors":[]})");
    expect_not_allowed(call("PATCH", "/v1/sys/quotas/rate-limit/q"), "GET, POST, PUT, DELETE");
}

TEST_F(AdminApiTest, ListByMethodOrQueryGivesSortedNames) {
    expect_no_content(call("PUT", "/v1/sys/quotas/rate-limit/b-api", R"({"path": "/b", "rate": 1})"));
    expect_no_content(call("PUT", "/v1/sys/quotas/rate-limit/a-api", R"({"path": "/a", "rate": 1})"));
    const std::string keys = R"({"keys":["a-api","b-api","file-quota"]})";
    expect_envelope(call("LIST", "/v1/sys/quotas/rate-limit"), keys);
    expect_envelope(call("LIST", "/v1/sys/quotas/rate-limit/"), keys);
    expect_envelope(call("GET", "/v1/sys/quotas/rate-limit?list=true"), keys);
    expect_not_allowed(call("GET", "/v1/sys/quotas/rate-limit"), "LIST");
    expect_not_allowed(call("POST", "/v1/sys/quotas/rate-limit"), "LIST");
}

// Vault reads `list` with Go's strconv.ParseBool; hvac sends ?list=True.
TEST_F(AdminApiTest, ListQueryTakesWhatGoParsesAsABoolean) {
    expect_no_content(call("PUT", "/v1/sys/quotas/rate-limit/a-api", R"({"path": "/a", "rate": 1})"));
    const std::string keys = R"({"keys":["a-api","file-quota"]})";
    for (const std::string yes : {"1", "t", "T", "TRUE", "true", "True"}) {
        SCOPED_TRACE(yes);
        expect_envelope(call("GET", "/v1/sys/quotas/rate-limit?list=" + yes), keys);
        expect_envelope(call("GET", "/v1/sys/blocks?list=" + yes), R"({"blocks":[]})");
    }
    for (const std::string no : {"0", "f", "F", "FALSE", "false", "False", ""}) {
        SCOPED_TRACE(no);
        expect_not_allowed(call("GET", "/v1/sys/quotas/rate-limit?list=" + no), "LIST");
        expect_envelope(call("GET", "/v1/sys/blocks?list=" + no), R"({"blocks":[]})");
    }
    for (const std::string other : {"yes", "tRUE", "2", "true%20"}) {
        SCOPED_TRACE(other);
        const std::string shown = other == "true%20" ? "true " : other;
        expect_error(call("GET", "/v1/sys/quotas/rate-limit?list=" + other), 400,
                     "list: must be true or false, not \"" + shown + "\"");
    }
}

TEST_F(AdminApiTest, ListQueryOnAQuotaIsAListThere) {
    expect_no_content(call("PUT", "/v1/sys/quotas/rate-limit/a-api", R"({"path": "/a", "rate": 1})"));
    expect_not_allowed(call("GET", "/v1/sys/quotas/rate-limit/a-api?list=true"), "GET, POST, PUT, DELETE");
    EXPECT_EQ(call("GET", "/v1/sys/quotas/rate-limit/a-api?list=false").status, 200u);
    expect_error(call("GET", "/v1/sys/quotas/rate-limit/a-api?list=maybe"), 400,
                 R"(list: must be true or false, not "maybe")");
}

TEST_F(AdminApiTest, AQuotaBeyondWhatTheAlgorithmsCountIs400NamingTheField) {
    const std::string url = "/v1/sys/quotas/rate-limit/q";
    expect_error(call("PUT", url, R"({"rate": 1e-10})"), 400,
                 "rate: 1e-10 per 1s is below the smallest supported rate (1 per 36500d)");
    expect_error(call("PUT", url, R"({"rate": 1, "interval": "36501d"})"), 400,
                 R"(interval: "36501d" is longer than the longest supported (36500d))");
    EXPECT_FALSE(control.quota("q"));
    expect_no_content(call("PUT", url, R"({"rate": 1, "interval": "30000d"})"));
}

TEST_F(AdminApiTest, AQuotaCannotSetAFramingField) {
    expect_error(call("PUT", "/v1/sys/quotas/rate-limit/q",
                      R"({"rate": 1, "response": {"headers": {"Transfer-Encoding": "chunked"}}})"),
                 400,
                 "response.headers.Transfer-Encoding: a framing or connection field is set by sluiced, not by a quota");
    EXPECT_FALSE(control.quota("q"));
}

TEST_F(AdminApiTest, ANumberNoDoubleHoldsIs400NamingItsField) {
    const std::string url = "/v1/sys/quotas/rate-limit/q";
    expect_error(call("PUT", url, R"({"rate": 1e309})"), 400, "rate: 1e309 is out of range for a number");
    expect_error(call("PUT", url, R"({"rate": 1, "response": {"status": -1e400}})"), 400,
                 "response.status: -1e400 is out of range for a number");
    expect_error(call("POST", "/v1/sys/quotas/config", R"({"rate_limit_exempt_paths": ["/a", 1e999]})"), 400,
                 "rate_limit_exempt_paths[1]: 1e999 is out of range for a number");
    expect_error(call("PUT", "/v1/sys/blocks/192.0.2.9", R"({"duration": 2E+308})"), 400,
                 "duration: 2E+308 is out of range for a number");
    EXPECT_FALSE(control.quota("q"));
    EXPECT_EQ(control.settings(), QuotaSettings{});
    EXPECT_THAT(control.blocks(), IsEmpty());
}

// 100000 levels used to overflow the stack when the body was serialized.
TEST_F(AdminApiTest, ABodyNestedTooDeepIs400) {
    const auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
    expect_error(
        call("PUT", "/v1/sys/quotas/rate-limit/q", R"({"rate": 1, "response": {"body": )" + nested(100'000) + "}}"),
        400, "invalid JSON: nested more than 64 levels deep");
    EXPECT_FALSE(control.quota("q"));
    expect_no_content(
        call("PUT", "/v1/sys/quotas/rate-limit/q", R"({"rate": 1, "response": {"body": )" + nested(62) + "}}"));
}

TEST_F(AdminApiTest, ListWithNoQuotasIs404) {
    Config empty;
    empty.state_dir = folder / "empty-state";
    control.start(empty);
    expect_json(call("LIST", "/v1/sys/quotas/rate-limit"), 404, R"({"errors":[]})");
    expect_json(call("GET", "/v1/sys/quotas/rate-limit?list=true"), 404, R"({"errors":[]})");
}

// --- usage ---

TEST_F(AdminApiTest, UsageOfAClientIp) {
    expect_no_content(
        call("PUT", "/v1/sys/quotas/rate-limit/per-ip", R"({"path": "/u", "rate": 10, "interval": "1m"})"));
    for (int i = 0; i < 3; ++i) request("/u", "192.0.2.5");
    const auto before = std::chrono::system_clock::now();
    const AdminResponse r = call("GET", "/v1/sys/quotas/rate-limit/per-ip/usage?key=192.0.2.5");
    const auto after = std::chrono::system_clock::now();
    // 3 of 10 per minute in use: whole again in 18 s.
    const std::string reset = Json::parse(r.body)["current_usage"].value("reset_time", "");
    EXPECT_GE(reset, utc_text(before + 18s));
    EXPECT_LE(reset, utc_text(after + 18s));
    expect_json(
        r, 200,
        R"({"quota":"per-ip","key":"192.0.2.5","current_usage":{"requests_in_window":3,"limit":10,"remaining":7,)"
        R"("reset_time":")" +
            reset + R"("}})");
}

TEST_F(AdminApiTest, UsageOfAnApiKeyGivenInClearAndPercentEncoded) {
    expect_no_content(call("PUT", "/v1/sys/quotas/rate-limit/per-key",
                           R"({"path": "/k", "key": "header:X-API-Key", "rate": 5, "interval": "1h",)"
                           R"( "algorithm": "fixed_window"})"));
    struct OneHeader final : HeaderLookup {
        std::string_view get(std::string_view name) const override {
            return name == "x-api-key" || name == "X-API-Key" ? "k+y/=1 2" : "";
        }
    } headers;
    request("/k", "192.0.2.1", &headers);
    const AdminResponse r = call("GET", "/v1/sys/quotas/rate-limit/per-key/usage?key=k+y%2F%3D1%202");
    EXPECT_EQ(r.status, 200u) << r.body;
    const Json body = Json::parse(r.body);
    EXPECT_EQ(body["key"], "k+y/=1 2");
    EXPECT_EQ(body["current_usage"]["requests_in_window"], 1);
    EXPECT_EQ(body["current_usage"]["remaining"], 4);
}

TEST_F(AdminApiTest, UsageOfAGlobalQuotaNeedsNoKey) {
    expect_no_content(call("PUT", "/v1/sys/quotas/rate-limit/all", R"({"path": "/g", "key": "global", "rate": 4})"));
    request("/g", "192.0.2.1");
    request("/g", "192.0.2.2");
    const Json body = Json::parse(call("GET", "/v1/sys/quotas/rate-limit/all/usage").body);
    EXPECT_EQ(body["key"], "");
    EXPECT_EQ(body["current_usage"]["requests_in_window"], 2);
    EXPECT_EQ(body["current_usage"]["limit"], 4);
    EXPECT_EQ(body["current_usage"]["remaining"], 2);
}

TEST_F(AdminApiTest, UsageErrors) {
    expect_json(call("GET", "/v1/sys/quotas/rate-limit/absent/usage?key=192.0.2.1"), 404, R"({"errors":[]})");
    expect_error(call("GET", "/v1/sys/quotas/rate-limit/file-quota/usage"), 400, "key: required");
    expect_error(call("GET", "/v1/sys/quotas/rate-limit/file-quota/usage?key=x"), 400,
                 R"(key: "x" is not an IP address)");
    expect_error(call("GET", "/v1/sys/quotas/rate-limit/file-quota/usage?key=%G1"), 400,
                 "the URL has an invalid percent-encoding");
    expect_not_allowed(call("POST", "/v1/sys/quotas/rate-limit/file-quota/usage"), "GET");
}

// --- quota settings ---

TEST_F(AdminApiTest, SettingsReadAndPartlyUpdatedApplyLive) {
    expect_envelope(call("GET", "/v1/sys/quotas/config"),
                    R"({"enable_rate_limit_audit_logging":false,"enable_rate_limit_response_headers":true,)"
                    R"("rate_limit_exempt_paths":[]})");
    expect_no_content(call("POST", "/v1/sys/quotas/config", R"({"rate_limit_exempt_paths": ["/file", "/v1/sys/*"]})"));
    expect_no_content(call("PUT", "/v1/sys/quotas/config", R"({"enable_rate_limit_audit_logging": true})"));
    expect_envelope(call("GET", "/v1/sys/quotas/config"),
                    R"({"enable_rate_limit_audit_logging":true,"enable_rate_limit_response_headers":true,)"
                    R"("rate_limit_exempt_paths":["/file","/v1/sys/*"]})");
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(request("/file").exempt);
}

TEST_F(AdminApiTest, BadSettingsAre400NamingTheField) {
    expect_error(call("POST", "/v1/sys/quotas/config", R"({"rate_limit_exempt_paths": ["/ok", "v1/*"]})"), 400,
                 "rate_limit_exempt_paths[1]: must start with '/'");
    expect_error(call("POST", "/v1/sys/quotas/config", R"({"enable_rate_limit_response_headers": "no"})"), 400,
                 "enable_rate_limit_response_headers: must be true or false");
    expect_error(call("POST", "/v1/sys/quotas/config", R"({"colour": 1})"), 400, "colour: unknown field");
    expect_error(call("POST", "/v1/sys/quotas/config", "nope"), 400,
                 "invalid JSON at line 1, column 2: syntax error while parsing value - invalid literal; last read: "
                 "'no'");
    EXPECT_EQ(control.settings(), QuotaSettings{});
    expect_not_allowed(call("DELETE", "/v1/sys/quotas/config"), "GET, POST, PUT");
}

// --- blocks ---

TEST_F(AdminApiTest, BlocksAddedListedAndRemoved) {
    expect_envelope(call("GET", "/v1/sys/blocks"), R"({"blocks":[]})");
    const auto before = std::chrono::system_clock::now();
    expect_no_content(call("PUT", "/v1/sys/blocks/203.0.113.7", R"({"duration": "10m"})"));
    expect_no_content(call("POST", "/v1/sys/blocks/2001:db8::1", ""));  // default: 1h
    EXPECT_FALSE(request("/anything", "203.0.113.7").allowed);

    const AdminResponse listed = call("GET", "/v1/sys/blocks");
    const auto after = std::chrono::system_clock::now();
    const Json blocks_json = Json::parse(listed.body)["data"]["blocks"];
    ASSERT_EQ(blocks_json.size(), 2u) << listed.body;
    for (std::size_t i = 0; i < 2; ++i) {
        const std::string expires = blocks_json[i].value("expires", "");
        const auto length = i == 0 ? std::chrono::seconds(3600) : std::chrono::seconds(600);
        EXPECT_GE(expires, utc_text(before + length));
        EXPECT_LE(expires, utc_text(after + length));
    }
    expect_envelope(listed, R"({"blocks":[{"client":"2001:db8::1","expires":")" + blocks_json[0].value("expires", "") +
                                R"(","remaining_seconds":3600,"origin":"api"},{"client":"203.0.113.7","expires":")" +
                                blocks_json[1].value("expires", "") + R"(","remaining_seconds":600,"origin":"api"}]})");

    expect_no_content(call("DELETE", "/v1/sys/blocks/203.0.113.7"));
    expect_no_content(call("DELETE", "/v1/sys/blocks/203.0.113.7"));  // not blocked: still 204
    EXPECT_TRUE(request("/anything", "203.0.113.7").allowed);
    EXPECT_EQ(Json::parse(call("GET", "/v1/sys/blocks").body)["data"]["blocks"].size(), 1u);
}

TEST_F(AdminApiTest, BadBlocksAre400) {
    expect_error(call("PUT", "/v1/sys/blocks/not-an-ip", R"({"duration": "1m"})"), 400,
                 R"("not-an-ip" is not an IP address)");
    expect_error(call("DELETE", "/v1/sys/blocks/300.1.1.1"), 400, R"("300.1.1.1" is not an IP address)");
    expect_error(call("PUT", "/v1/sys/blocks/192.0.2.1", R"({"duration": 0})"), 400,
                 "duration: must be greater than 0");
    expect_error(call("PUT", "/v1/sys/blocks/192.0.2.1", R"({"duration": "-1m"})"), 400,
                 "duration: must be greater than 0");
    expect_error(call("PUT", "/v1/sys/blocks/192.0.2.1", R"({"for": "1m"})"), 400, "for: unknown field");
    // Beyond it, the expiry's clock arithmetic overflowed.
    expect_error(call("PUT", "/v1/sys/blocks/192.0.2.1", R"({"duration": "36501d"})"), 400,
                 R"(duration: "36501d" is longer than the longest supported (36500d))");
    expect_error(call("PUT", "/v1/sys/blocks/192.0.2.1", R"({"duration": 9e9})"), 400,
                 "duration: 9000000000.0 seconds is longer than the longest supported (36500d)");
    EXPECT_THAT(control.blocks(), IsEmpty());
    for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3"})
        expect_no_content(call("PUT", std::string("/v1/sys/blocks/") + ip, ""));
    expect_error(call("PUT", "/v1/sys/blocks/192.0.2.4", ""), 400, "the block list is full (limits.max_blocks 3)");
    expect_not_allowed(call("GET", "/v1/sys/blocks/192.0.2.1"), "PUT, POST, DELETE");
    expect_not_allowed(call("DELETE", "/v1/sys/blocks"), "GET, LIST");
}

// --- fleet nodes ---

// 2026-12-05T21:49:25Z and the seconds after it.
std::chrono::system_clock::time_point at(std::chrono::seconds later) {
    using namespace std::chrono;
    return sys_days{year{2026} / December / 5} + 21h + 49min + 25s + later;
}

TEST_F(AdminApiTest, NodesWithoutAFleetAre404SayingWhy) {
    expect_error(call("GET", "/v1/sys/nodes"), 404,
                 R"(no fleet: this host's store is not Redis (store.type "redis" shares blocks and quotas))");
    expect_not_allowed(call("POST", "/v1/sys/nodes"), "GET");
}

TEST_F(AdminApiTest, NodesGiveTheSyncStateAndEveryLiveHostWithWhatItRuns) {
    fleet.sync = {.state = FleetSyncState::lagging,
                  .lag = 3,
                  .since = at(0s),
                  .applied_seq = 41,
                  .pending = 2,
                  .events_applied = 40,
                  .events_published = 7,
                  .snapshots = 1,
                  .pending_lost = 0};
    fleet.live = {{.name = "edge-1",
                   .version = "0.1.0",
                   .addresses = {"0.0.0.0:8080", "[::]:8080"},
                   .quotas = {"api-keys", "per-ip"},
                   .file_quotas = {{"per-ip", "/etc/sluice/sluice.json"}},
                   .xdp = {{"eth0", "native"}, {"eth1", "generic"}},
                   .sync = FleetSyncState::lagging,
                   .lag = 3,
                   .seen = at(4s)},
                  {.name = "edge-2",
                   .version = "0.2.0",
                   .addresses = {"10.0.0.2:80"},
                   .quotas = {},
                   .file_quotas = {},
                   .xdp = {},
                   .sync = FleetSyncState::in_sync,
                   .lag = 0,
                   .seen = at(3s)}};
    expect_envelope(call_in_fleet("GET", "/v1/sys/nodes"), testing::kTwoNodesData);
}

// Before the first heartbeat is read, or with Redis gone: no host listed.
TEST_F(AdminApiTest, NodesOfAFleetNotReachedYetAreAnEmptyList) {
    fleet.sync.since = at(0s);
    expect_envelope(
        call_in_fleet("GET", "/v1/sys/nodes"),
        R"({"sync":{"state":"disconnected","lag":0,"since":"2026-12-05T21:49:25Z","applied_seq":0,"pending":0},)"
        R"("nodes":[]})");
}

TEST_F(AdminApiTest, NodesAreOnlyRead) {
    for (const char* method : {"POST", "PUT", "DELETE", "LIST"}) {
        SCOPED_TRACE(method);
        expect_not_allowed(call_in_fleet(method, "/v1/sys/nodes"), "GET");
    }
    expect_not_allowed(call_in_fleet("GET", "/v1/sys/nodes?list=true"), "GET");
    expect_json(call_in_fleet("GET", "/v1/sys/nodes/edge-1"), 404, R"({"errors":[]})");
}

}  // namespace
}  // namespace sluice
