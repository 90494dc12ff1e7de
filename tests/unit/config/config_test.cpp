#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

using namespace std::chrono_literals;
using testing::ElementsAre;
using testing::IsEmpty;

namespace sluice {
namespace {

namespace fs = std::filesystem;

// A valid config with `fields` added to its top-level object.
std::string config_with(const std::string& fields) {
    return R"({"listen": ["127.0.0.1:8080"], "upstream": "http://127.0.0.1:9000")" +
           (fields.empty() ? std::string() : ", " + fields) + "}";
}

std::string config_with_quotas(const std::string& quotas) { return config_with(R"("quotas": [)" + quotas + "]"); }

class ConfigTest : public testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "sluice-config-test-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    std::string write(const std::string& name, const std::string& text) const {
        fs::create_directories((dir_ / name).parent_path());
        std::ofstream(dir_ / name) << text;
        return path(name);
    }

    ConfigLoad load(const std::string& text) const { return load_config(write("sluice.json", text)); }

    // Every error of loading `text` as sluice.json, as `sluiced --check` prints them.
    std::vector<std::string> errors(const std::string& text) const {
        std::vector<std::string> out;
        for (const ConfigError& e : load(text).errors) out.push_back(to_string(e));
        return out;
    }

    // An error message about sluice.json.
    std::string in_main(const std::string& rest) const { return path("sluice.json") + ": " + rest; }

    Config loaded(const std::string& text) const {
        ConfigLoad result = load(text);
        for (const ConfigError& e : result.errors) ADD_FAILURE() << to_string(e);
        return std::move(result.config);
    }

    fs::path dir_;
};

// --- valid configs ---

TEST_F(ConfigTest, MinimalConfigGetsDefaults) {
    const Config c = loaded(config_with(""));
    EXPECT_EQ(c.proxy.listen, (std::vector<ListenAddress>{{"127.0.0.1", 8080}}));
    EXPECT_EQ(c.proxy.upstream, (ListenAddress{"127.0.0.1", 9000}));
    EXPECT_THAT(c.proxy.trusted_proxies, IsEmpty());
    EXPECT_EQ(c.proxy.threads, 0u);
    EXPECT_EQ(c.headers, HeaderStyle::draft);
    EXPECT_EQ(c.max_keys, 1'000'000u);
    EXPECT_THAT(c.quotas, IsEmpty());
    EXPECT_THAT(c.quota_files, IsEmpty());
    EXPECT_EQ(c.proxy.client_timeout, 10s);
    EXPECT_EQ(c.proxy.upstream_idle_connections, 64u);
    EXPECT_EQ(c.proxy.drain_timeout, 5s);
    EXPECT_EQ(c.proxy.max_connections, 0u);  // from the open files limit
    EXPECT_EQ(c.proxy.max_connections_per_ip, 256u);
    EXPECT_EQ(c.proxy.per_ip_block_interval, 0s);  // off
}

TEST_F(ConfigTest, TopLevelSettings) {
    const Config c = loaded(R"({
        "listen": ["0.0.0.0:80", "[::1]:8081"],
        "upstream": "http://[::1]:9000/",
        "trusted_proxies": ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"],
        "headers": "ietf",
        "threads": 2,
        "limits": {
            "max_keys": 5000, "max_header_bytes": 8192, "max_body_bytes": 1, "max_response_bytes": 2048,
            "client_timeout": "1.5s", "idle_timeout": 30, "upstream_connect_timeout": 0.25,
            "upstream_timeout": "500us", "upstream_idle_connections": 0, "drain_timeout": "2s",
            "max_connections": 100, "max_connections_per_ip": 0, "per_ip_block_interval": "10m"
        }
    })");
    EXPECT_EQ(c.proxy.listen, (std::vector<ListenAddress>{{"0.0.0.0", 80}, {"::1", 8081}}));
    EXPECT_EQ(c.proxy.upstream, (ListenAddress{"::1", 9000}));
    ASSERT_EQ(c.proxy.trusted_proxies.size(), 3u);
    EXPECT_EQ(c.proxy.trusted_proxies[0].to_string(), "10.0.0.0/8");
    EXPECT_EQ(c.proxy.trusted_proxies[1].to_string(), "2001:db8::/32");
    EXPECT_EQ(c.proxy.trusted_proxies[2].to_string(), "192.0.2.1/32");
    EXPECT_EQ(c.headers, HeaderStyle::ietf);
    EXPECT_EQ(c.proxy.threads, 2u);
    EXPECT_EQ(c.max_keys, 5000u);
    EXPECT_EQ(c.proxy.max_header_bytes, 8192u);
    EXPECT_EQ(c.proxy.max_body_bytes, 1u);
    EXPECT_EQ(c.proxy.max_response_bytes, 2048u);
    EXPECT_EQ(c.proxy.client_timeout, 1500ms);
    EXPECT_EQ(c.proxy.idle_timeout, 30s);
    EXPECT_EQ(c.proxy.upstream_connect_timeout, 250ms);
    EXPECT_EQ(c.proxy.upstream_timeout, 1ms);  // rounded up, never 0
    EXPECT_EQ(c.proxy.upstream_idle_connections, 0u);
    EXPECT_EQ(c.proxy.drain_timeout, 2s);
    EXPECT_EQ(c.proxy.max_connections, 100u);
    EXPECT_EQ(c.proxy.max_connections_per_ip, 0u);
    EXPECT_EQ(c.proxy.per_ip_block_interval, 10min);
}

TEST_F(ConfigTest, UpstreamForms) {
    const auto upstream = [&](const std::string& url) {
        return loaded(R"({"listen": ["127.0.0.1:8080"], "upstream": ")" + url + "\"}").proxy.upstream;
    };
    EXPECT_EQ(upstream("http://backend.internal"), (ListenAddress{"backend.internal", 80}));
    EXPECT_EQ(upstream("http://api-1.example.com:8443/"), (ListenAddress{"api-1.example.com", 8443}));
    EXPECT_EQ(upstream("http://10.1.2.3:65535"), (ListenAddress{"10.1.2.3", 65535}));
    EXPECT_EQ(upstream("http://[2001:db8::5]"), (ListenAddress{"2001:db8::5", 80}));
}

TEST_F(ConfigTest, EveryQuotaField) {
    const Config c = loaded(config_with_quotas(R"({
        "name": "api-keys.v2_all", "path": "/v1/*", "method": "post", "key": "header:X-API-Key",
        "rate": 2.5, "interval": "1h30m", "burst": 5, "algorithm": "token_bucket",
        "block_interval": "5m", "mode": "dry_run", "cumulative": true,
        "response": {"status": 503, "body": "slow down", "headers": {"X-Reason": "quota", "Cache-Control": "no-store"}},
        "headers": "none", "role": "admin", "inheritable": true
    })"));
    Quota expected;
    expected.name = "api-keys.v2_all";
    expected.path = "/v1/*";
    expected.method = "POST";
    expected.key = {KeyKind::header, "X-API-Key"};
    expected.rate = 2.5;
    expected.interval = 90min;
    expected.burst = 5;
    expected.algorithm = Algorithm::token_bucket;
    expected.block_interval = 5min;
    expected.mode = QuotaMode::dry_run;
    expected.cumulative = true;
    expected.response = RefusalResponse{503, "\"slow down\"", {{"X-Reason", "quota"}, {"Cache-Control", "no-store"}}};
    expected.headers = HeaderStyle::none;
    expected.role = "admin";
    expected.inheritable = true;
    ASSERT_EQ(c.quotas.size(), 1u);
    EXPECT_EQ(c.quotas[0], expected);
}

TEST_F(ConfigTest, QuotaDefaults) {
    const Config c = loaded(config_with_quotas(R"({"name": "q", "rate": 10})"));
    Quota expected;
    expected.name = "q";
    expected.rate = 10;
    ASSERT_EQ(c.quotas.size(), 1u);
    EXPECT_EQ(c.quotas[0], expected);
    EXPECT_EQ(c.quotas[0].key.kind, KeyKind::client_ip);
    EXPECT_EQ(c.quotas[0].interval, 1s);
    EXPECT_EQ(c.quotas[0].path, "");
    EXPECT_FALSE(c.quotas[0].burst);
    EXPECT_FALSE(c.quotas[0].response);
}

TEST_F(ConfigTest, QuotaValueForms) {
    const Config c = loaded(config_with_quotas(R"(
        {"name": "a", "rate": 1, "interval": 90, "key": "bearer_token", "algorithm": "sliding_window", "block_interval": 0},
        {"name": "b", "rate": 1, "interval": 0.5, "key": "global", "method": "LIST", "block_interval": "1.5"},
        {"name": "c", "rate": 1, "response": {"status": 429, "body": {"z": 1, "a": [true, null]}}},
        {"name": "d", "rate": 1, "path": "/d", "response": {"headers": {"X-A": "1"}}}
    )"));
    ASSERT_EQ(c.quotas.size(), 4u);
    EXPECT_EQ(c.quotas[0].interval, 90s);
    EXPECT_EQ(c.quotas[0].key, (QuotaKey{KeyKind::bearer_token, ""}));
    EXPECT_EQ(c.quotas[0].algorithm, Algorithm::sliding_window);
    EXPECT_EQ(c.quotas[0].block_interval, 0s);
    EXPECT_EQ(c.quotas[1].interval, 500ms);
    EXPECT_EQ(c.quotas[1].key, (QuotaKey{KeyKind::global, ""}));
    EXPECT_EQ(c.quotas[1].method, "LIST");
    EXPECT_EQ(c.quotas[1].block_interval, 1500ms);
    EXPECT_EQ(c.quotas[2].response->body, R"({"z":1,"a":[true,null]})");          // keys kept in written order
    EXPECT_EQ(c.quotas[3].response, (RefusalResponse{429, "", {{"X-A", "1"}}}));  // "" = the default body
}

// --- quota files ---

TEST_F(ConfigTest, QuotaFilesComeAfterInlineQuotasInSortedOrder) {
    write("quotas.d/b.json",
          R"({"quotas": [{"name": "b1", "rate": 1, "path": "/b1"}, {"name": "b2", "rate": 1, "path": "/b2"}]})");
    write("quotas.d/a.json", R"({"quotas": [{"name": "a1", "rate": 1, "path": "/a1"}]})");
    write("quotas.d/c.json", R"({"quotas": []})");
    write("quotas.d/ignored.txt", "not json");
    write("extra/z.json", R"({"quotas": [{"name": "z1", "rate": 1, "path": "/z1"}]})");
    const std::string extra = path("extra") + "/*.json";  // absolute
    const Config c = loaded(config_with(R"("quota_files": ["extra/*.json", "quotas.d/*.json", ")" + extra +
                                        R"("], "quotas": [{"name": "inline", "rate": 1}])"));
    std::vector<std::string> names;
    for (const Quota& q : c.quotas) names.push_back(q.name);
    // extra/z.json matched twice, loaded once.
    EXPECT_THAT(names, ElementsAre("inline", "z1", "a1", "b1", "b2"));
    EXPECT_THAT(c.quota_files, ElementsAre("extra/*.json", "quotas.d/*.json", extra));
}

TEST_F(ConfigTest, RelativeGlobsResolveFromTheConfigFolder) {
    write("etc/sluice/quotas.d/x.json", R"({"quotas": [{"name": "x", "rate": 1}]})");
    write("quotas.d/decoy.json", R"({"quotas": [{"name": "decoy", "rate": 1, "path": "/d"}]})");
    const std::string file = write("etc/sluice/sluice.json", config_with(R"("quota_files": ["quotas.d/*.json"])"));
    const ConfigLoad result = load_config(file);
    ASSERT_TRUE(result.ok()) << to_string(result.errors.front());
    ASSERT_EQ(result.config.quotas.size(), 1u);
    EXPECT_EQ(result.config.quotas[0].name, "x");
}

TEST_F(ConfigTest, GlobMatchingNothingIsFine) {
    const Config c = loaded(config_with(R"("quota_files": ["quotas.d/*.json", "missing/dir/*.json"])"));
    EXPECT_THAT(c.quotas, IsEmpty());
}

TEST_F(ConfigTest, QuotaFileErrorsNameTheQuotaFile) {
    const std::string a = write(
        "quotas.d/a.json", R"({"quotas": [{"name": "ok", "rate": 1, "path": "/ok"}, {"name": "x", "rate": "fast"}]})");
    const std::string b = write("quotas.d/b.json", R"({"quotas": [], "version": 2})");
    const std::string c = write("quotas.d/c.json", R"({})");
    const std::string d = write("quotas.d/d.json", "{\"quotas\": [\n  {\"name\": \"y\",\n}]}");
    const std::string e = write("quotas.d/e.json", R"([])");
    fs::create_directories(dir_ / "quotas.d/f.json");
    EXPECT_THAT(
        errors(config_with(R"("quota_files": ["quotas.d/*.json"])")),
        ElementsAre(a + ": quotas[1].rate: must be a number", b + ": version: unknown field", c + ": quotas: required",
                    d + ": invalid JSON at line 3, column 1: syntax error while parsing object key - "
                        "unexpected '}'; expected string literal",
                    e + ": must be an object", path("quotas.d/f.json") + ": not a regular file"));
}

TEST_F(ConfigTest, DuplicateNameAcrossFilesNamesTheFirst) {
    const std::string file = write("quotas.d/a.json", R"({"quotas": [{"name": "per-ip", "rate": 5, "path": "/x"}]})");
    const auto result =
        load(config_with(R"("quota_files": ["quotas.d/*.json"], "quotas": [{"name": "per-ip", "rate": 1}])"));
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].file, file);
    EXPECT_EQ(result.errors[0].path, "quotas[0].name");
    EXPECT_EQ(result.errors[0].reason, "\"per-ip\" is already the name of " + path("sluice.json") + ": quotas[0]");
}

TEST_F(ConfigTest, DuplicateNameInline) {
    EXPECT_THAT(
        errors(config_with_quotas(R"({"name": "a", "rate": 1}, {"name": "b", "rate": 1, "path": "/b"},
                                             {"name": "a", "rate": 1, "path": "/a"})")),
        ElementsAre(in_main(R"(quotas[2].name: "a" is already the name of )" + path("sluice.json") + ": quotas[0]")));
}

TEST_F(ConfigTest, ConflictingQuotas) {
    const std::string file =
        write("quotas.d/a.json", R"({"quotas": [{"name": "also-per-ip", "rate": 5, "path": "/v1/*"}]})");
    EXPECT_THAT(
        errors(config_with(R"("quota_files": ["quotas.d/*.json"], "quotas": [
                    {"name": "per-ip", "rate": 1, "path": "/v1/*"},
                    {"name": "per-token", "rate": 1, "path": "/v1/*", "key": "bearer_token"},
                    {"name": "scan", "rate": 1, "path": "/scans/{id}"},
                    {"name": "scan2", "rate": 1, "path": "/scans/{name}"}])")),
        ElementsAre(in_main(R"(quotas[3]: conflicts with quota "scan": same key and equally specific path)"),
                    file + R"(: quotas[0]: conflicts with quota "per-ip": same key and equally specific path)"));
}

// --- one test per kind of invalid config ---

TEST_F(ConfigTest, BadDurationNamesPathAndValue) {
    const auto result =
        load(config_with_quotas(R"({"name": "a", "rate": 1, "path": "/a"}, {"name": "b", "rate": 1, "path": "/b"},
                                                  {"name": "c", "rate": 1, "interval": "5x"})"));
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].file, path("sluice.json"));
    EXPECT_EQ(result.errors[0].path, "quotas[2].interval");
    EXPECT_EQ(result.errors[0].reason, R"("5x" is not a duration)");
    EXPECT_EQ(to_string(result.errors[0]), in_main(R"(quotas[2].interval: "5x" is not a duration)"));
    EXPECT_THAT(result.config.quotas, IsEmpty());  // never a config and errors both
}

TEST_F(ConfigTest, BadDurations) {
    EXPECT_THAT(
        errors(config_with(R"("limits": {"client_timeout": "0s", "idle_timeout": -1, "upstream_timeout": true,
                                                 "upstream_connect_timeout": "99999999h", "drain_timeout": "0s",
                                                 "per_ip_block_interval": "-1s"},
                                      "quotas": [{"name": "a", "rate": 1, "interval": 0, "block_interval": "-5m"},
                                                 {"name": "b", "rate": 1, "path": "/b", "interval": "-1s", "block_interval": 1e300}])")),
        ElementsAre(in_main("limits.client_timeout: must be greater than 0"),
                    in_main("limits.idle_timeout: must be greater than 0"),
                    in_main(R"(limits.upstream_timeout: must be a duration (e.g. "1m30s") or a number of seconds)"),
                    in_main(R"(limits.upstream_connect_timeout: "99999999h" is out of range)"),
                    in_main("limits.drain_timeout: must be greater than 0"),
                    in_main("limits.per_ip_block_interval: must not be negative"),
                    in_main("quotas[0].interval: must be greater than 0"),
                    in_main("quotas[0].block_interval: must not be negative"),
                    in_main("quotas[1].interval: must be greater than 0"),
                    in_main("quotas[1].block_interval: 1e+300 seconds is out of range")));
}

TEST_F(ConfigTest, UnknownFieldAtTopLevel) {
    EXPECT_THAT(errors(config_with(R"("foo": 1)")), ElementsAre(in_main("foo: unknown field")));
}

TEST_F(ConfigTest, UnknownFieldInQuota) {
    EXPECT_THAT(errors(config_with_quotas(R"({"name": "a", "rate": 1, "intervall": "1m"})")),
                ElementsAre(in_main("quotas[0].intervall: unknown field")));
}

TEST_F(ConfigTest, UnknownFieldInLimits) {
    EXPECT_THAT(errors(config_with(R"("limits": {"max_key": 10})")),
                ElementsAre(in_main("limits.max_key: unknown field")));
}

TEST_F(ConfigTest, PathMatchingIsLenientUnlessSaidOtherwise) {
    const ConfigLoad lenient = load(config_with(""));
    ASSERT_TRUE(lenient.ok());
    EXPECT_EQ(lenient.config.path_matching, (PathMatching{.case_insensitive = true, .ignore_trailing_slash = true}));
    const ConfigLoad strict =
        load(config_with(R"("path_matching": {"case_insensitive": false, "ignore_trailing_slash": false})"));
    ASSERT_TRUE(strict.ok());
    EXPECT_EQ(strict.config.path_matching, (PathMatching{.case_insensitive = false, .ignore_trailing_slash = false}));
    EXPECT_THAT(errors(config_with(R"("path_matching": {"case": false, "ignore_trailing_slash": "no"})")),
                ElementsAre(in_main("path_matching.case: unknown field"),
                            in_main("path_matching.ignore_trailing_slash: must be true or false")));
}

TEST_F(ConfigTest, UnknownFieldInResponse) {
    EXPECT_THAT(errors(config_with_quotas(R"({"name": "a", "rate": 1, "response": {"code": 503}})")),
                ElementsAre(in_main("quotas[0].response.code: unknown field")));
}

TEST_F(ConfigTest, RepeatedField) {
    EXPECT_THAT(
        errors(config_with_quotas(R"({"name": "a", "rate": 1, "rate": 2}, {"name": "b", "path": "/b", "rate": 1,
                                             "response": {"body": {"m": 1, "m": 2}}})")),
        ElementsAre(in_main("quotas[0].rate: repeated field"), in_main("quotas[1].response.body.m: repeated field")));
}

TEST_F(ConfigTest, WrongTypesNameTheExpectedType) {
    EXPECT_THAT(
        errors(R"({"listen": "127.0.0.1:8080", "upstream": 9000, "trusted_proxies": "10.0.0.0/8",
                           "headers": 1, "threads": 1.5, "limits": [], "quota_files": [7],
                           "quotas": [{"name": 5, "rate": "10", "path": null, "cumulative": "yes", "burst": [],
                                       "response": [], "role": false}, 3]})"),
        ElementsAre(in_main("listen: must be an array"), in_main("upstream: must be a string"),
                    in_main("trusted_proxies: must be an array"), in_main("headers: must be a string"),
                    in_main("threads: must be an integer"), in_main("limits: must be an object"),
                    in_main("quota_files[0]: must be a string"), in_main("quotas[0].name: must be a string"),
                    in_main("quotas[0].rate: must be a number"), in_main("quotas[0].path: must be a string"),
                    in_main("quotas[0].cumulative: must be true or false"),
                    in_main("quotas[0].burst: must be a number"), in_main("quotas[0].response: must be an object"),
                    in_main("quotas[0].role: must be a string"), in_main("quotas[1]: must be an object")));
    EXPECT_THAT(errors(config_with(R"("quotas": {})")), ElementsAre(in_main("quotas: must be an array")));
    EXPECT_THAT(errors("[]"), ElementsAre(in_main("must be an object")));
}

TEST_F(ConfigTest, BadName) {
    const std::string long_name(129, 'n');
    EXPECT_THAT(
        errors(config_with_quotas(R"({"name": "per ip", "rate": 1}, {"name": "", "rate": 1, "path": "/b"},
                                             {"name": ")" +
                                  long_name + R"(", "rate": 1, "path": "/c"},
                                             {"name": "ok-ok_1.2", "rate": 1, "path": "/d"}, {"rate": 1, "path": "/e"})")),
        ElementsAre(
            in_main(R"(quotas[0].name: "per ip" is not a valid name: use 1 to 128 of A-Z a-z 0-9 . _ -)"),
            in_main(R"(quotas[1].name: "" is not a valid name: use 1 to 128 of A-Z a-z 0-9 . _ -)"),
            in_main("quotas[2].name: \"" + long_name + "\" is not a valid name: use 1 to 128 of A-Z a-z 0-9 . _ -"),
            in_main("quotas[4].name: required")));
    EXPECT_TRUE(load(config_with_quotas(R"({"name": ")" + std::string(128, 'n') + R"(", "rate": 1})")).ok());
}

TEST_F(ConfigTest, BadPath) {
    EXPECT_THAT(errors(config_with_quotas(R"({"name": "a", "rate": 1, "path": "v1/*"},
                                             {"name": "b", "rate": 1, "path": "/v1/*/x"})")),
                ElementsAre(in_main(R"(quotas[0].path: must be "" or start with '/')"),
                            in_main("quotas[1].path: '*' is only allowed as the last character")));
}

TEST_F(ConfigTest, BadMethod) {
    EXPECT_THAT(errors(config_with_quotas(
                    R"({"name": "a", "rate": 1, "method": "GE T"}, {"name": "b", "rate": 1, "method": ""})")),
                ElementsAre(in_main(R"(quotas[0].method: "GE T" is not an HTTP method)"),
                            in_main(R"(quotas[1].method: "" is not an HTTP method)")));
}

TEST_F(ConfigTest, BadKey) {
    EXPECT_THAT(
        errors(config_with_quotas(R"({"name": "a", "rate": 1, "key": "ip"},
                                             {"name": "b", "rate": 1, "key": "header:"},
                                             {"name": "c", "rate": 1, "key": "header:X Key"},
                                             {"name": "d", "rate": 1, "key": "Client_IP"},
                                             {"name": "e", "rate": 1, "key": "header:X_API_Key"})")),
        ElementsAre(
            in_main(R"(quotas[0].key: "ip" is not one of "client_ip", "bearer_token", "global", "header:<Name>")"),
            in_main(R"(quotas[1].key: "header:" does not name a valid header)"),
            in_main(R"(quotas[2].key: "header:X Key" does not name a valid header)"),
            in_main(
                R"(quotas[3].key: "Client_IP" is not one of "client_ip", "bearer_token", "global", "header:<Name>")"),
            in_main(
                R"(quotas[4].key: "header:X_API_Key" names a header with '_', which sluiced drops from requests)")));
}

TEST_F(ConfigTest, BurstOnlyWithTokenBucket) {
    EXPECT_THAT(errors(config_with_quotas(R"({"name": "a", "rate": 10, "burst": 20, "algorithm": "fixed_window"},
                                             {"name": "b", "path": "/b", "burst": 20, "rate": 10, "algorithm": "sliding_window"},
                                             {"name": "c", "path": "/c", "rate": 10, "burst": 0.5})")),
                ElementsAre(in_main("quotas[0].burst: only applies to algorithm token_bucket"),
                            in_main("quotas[1].burst: only applies to algorithm token_bucket"),
                            in_main("quotas[2].burst: must be at least 1")));
}

TEST_F(ConfigTest, RateMustBePositive) {
    EXPECT_THAT(
        errors(config_with_quotas(R"({"name": "a", "rate": 0}, {"name": "b", "path": "/b", "rate": -1},
                                             {"name": "c", "path": "/c", "rate": 1e10}, {"name": "d", "path": "/d"})")),
        ElementsAre(in_main("quotas[0].rate: must be greater than 0"),
                    in_main("quotas[1].rate: must be greater than 0"),
                    in_main("quotas[2].rate: must be at most 1000000000"), in_main("quotas[3].rate: required")));
    EXPECT_DOUBLE_EQ(loaded(config_with_quotas(R"({"name": "a", "rate": 0.5})")).quotas.at(0).rate, 0.5);
}

TEST_F(ConfigTest, WindowAlgorithmsNeedWholeRequests) {
    EXPECT_THAT(
        errors(config_with_quotas(R"({"name": "a", "rate": 0.5, "algorithm": "fixed_window"},
                                             {"name": "b", "path": "/b", "algorithm": "sliding_window", "rate": 0.99})")),
        ElementsAre(
            in_main("quotas[0].rate: fixed_window admits whole requests per window: rate must be at least 1"),
            in_main("quotas[1].rate: sliding_window admits whole requests per window: rate must be at least 1")));
}

TEST_F(ConfigTest, BadEnums) {
    EXPECT_THAT(
        errors(config_with_quotas(R"({"name": "a", "rate": 1, "algorithm": "leaky_bucket", "mode": "log",
                                              "headers": "X-RateLimit"})")),
        ElementsAre(
            in_main(
                R"(quotas[0].algorithm: "leaky_bucket" is not one of "token_bucket", "fixed_window", "sliding_window")"),
            in_main(R"(quotas[0].mode: "log" is not one of "enforce", "dry_run")"),
            in_main(R"(quotas[0].headers: "X-RateLimit" is not one of "draft", "x-ratelimit", "ietf", "none")")));
}

TEST_F(ConfigTest, BadHeaderStyle) {
    EXPECT_THAT(errors(config_with(R"("headers": "rfc")")),
                ElementsAre(in_main(R"(headers: "rfc" is not one of "draft", "x-ratelimit", "ietf", "none")")));
}

TEST_F(ConfigTest, BadResponse) {
    EXPECT_THAT(
        errors(config_with_quotas(R"({"name": "a", "rate": 1, "response": {"status": 200,
                                              "headers": {"Bad Name": "x", "X-Split": "a\r\nSet-Cookie: x", "X-Num": 1}}},
                                             {"name": "b", "path": "/b", "rate": 1, "response": {"status": 600, "headers": []}})")),
        ElementsAre(
            in_main("quotas[0].response.status: must be between 400 and 599"),
            in_main("quotas[0].response.headers.Bad Name: not a valid header name"),
            in_main("quotas[0].response.headers.X-Split: must not contain CR, LF, NUL or other control characters"),
            in_main("quotas[0].response.headers.X-Num: must be a string"),
            in_main("quotas[1].response.status: must be between 400 and 599"),
            in_main("quotas[1].response.headers: must be an object")));
}

// A quota's Transfer-Encoding was sent beside sluiced's Content-Length.
TEST_F(ConfigTest, ResponseHeadersCannotSetFramingOrConnectionFields) {
    for (const std::string name : {"Content-Length", "Transfer-Encoding", "transfer-encoding", "Connection",
                                   "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "UPGRADE"}) {
        EXPECT_THAT(errors(config_with_quotas(R"({"name": "a", "rate": 1, "response": {"headers": {")" + name +
                                              R"(": "chunked"}}})")),
                    ElementsAre(in_main("quotas[0].response.headers." + name +
                                        ": a framing or connection field is set by sluiced, not by a quota")));
    }
}

TEST_F(ConfigTest, ResponseHeaderValuesHoldNoControlCharactersButTab) {
    EXPECT_THAT(
        errors(config_with_quotas(R"({"name": "a", "rate": 1, "response": {"headers":
                                             {"X-Bell": "a\u0007", "X-Del": "\u007f", "X-Nul": "\u0000"}}})")),
        ElementsAre(
            in_main("quotas[0].response.headers.X-Bell: must not contain CR, LF, NUL or other control characters"),
            in_main("quotas[0].response.headers.X-Del: must not contain CR, LF, NUL or other control characters"),
            in_main("quotas[0].response.headers.X-Nul: must not contain CR, LF, NUL or other control characters")));
    const Config c = loaded(config_with_quotas(R"({"name": "a", "rate": 1, "response": {"headers":
                                              {"X-Tab": "a\tb", "X-Text": "caf\u00e9", "Content-Type": "text/plain", "Host": "h"}}})"));
    ASSERT_EQ(c.quotas.size(), 1u);
    EXPECT_EQ(c.quotas[0].response->headers,
              (std::vector<std::pair<std::string, std::string>>{
                  {"X-Tab", "a\tb"}, {"X-Text", "caf\xc3\xa9"}, {"Content-Type", "text/plain"}, {"Host", "h"}}));
}

TEST_F(ConfigTest, BadListen) {
    const std::string hint = R"( is not an IP address and port, e.g. "127.0.0.1:8080" or "[::1]:8080")";
    EXPECT_THAT(
        errors(R"({"upstream": "http://127.0.0.1:9000", "listen": ["localhost:8080", "127.0.0.1", "127.0.0.1:99999",
                           "::1:8080", "[::1]8080", "[127.0.0.1]:80", "127.0.0.1:0", "127.0.0.1:80x", "0.0.0.0:443"]})"),
        ElementsAre(in_main(R"(listen[0]: "localhost:8080")" + hint), in_main(R"(listen[1]: "127.0.0.1")" + hint),
                    in_main(R"(listen[2]: "127.0.0.1:99999")" + hint), in_main(R"(listen[3]: "::1:8080")" + hint),
                    in_main(R"(listen[4]: "[::1]8080")" + hint), in_main(R"(listen[5]: "[127.0.0.1]:80")" + hint),
                    in_main(R"(listen[6]: "127.0.0.1:0")" + hint), in_main(R"(listen[7]: "127.0.0.1:80x")" + hint)));
    EXPECT_THAT(errors(R"({"upstream": "http://127.0.0.1:9000", "listen": []})"),
                ElementsAre(in_main("listen: must list at least one address")));
    EXPECT_THAT(errors(R"({"upstream": "http://127.0.0.1:9000"})"), ElementsAre(in_main("listen: required")));
}

TEST_F(ConfigTest, HttpsUpstream) {
    EXPECT_THAT(errors(R"({"listen": ["127.0.0.1:8080"], "upstream": "https://api.example.com"})"),
                ElementsAre(in_main("upstream: https upstreams are not supported")));
}

TEST_F(ConfigTest, BadUpstream) {
    const std::string hint = R"( is not "http://host[:port]", e.g. "http://127.0.0.1:9000")";
    std::vector<std::string> expected;
    for (const char* url : {"ftp://x", "127.0.0.1:9000", "http://", "http://h:80/api", "http://user@h", "http://h:0",
                            "http://[::1", "http://h?x=1", "HTTP://h"}) {
        EXPECT_THAT(errors(R"({"listen": ["127.0.0.1:8080"], "upstream": ")" + std::string(url) + "\"}"),
                    ElementsAre(in_main("upstream: \"" + std::string(url) + "\"" + hint)));
    }
    EXPECT_THAT(errors(R"({"listen": ["127.0.0.1:8080"]})"), ElementsAre(in_main("upstream: required")));
}

TEST_F(ConfigTest, BadCidr) {
    const std::string hint = R"( is not a CIDR block with its host bits zero, e.g. "10.0.0.0/8")";
    EXPECT_THAT(errors(config_with(R"("trusted_proxies": ["10.0.0.1/8", "10.0.0.0/8", "proxy.local", "::/200"])")),
                ElementsAre(in_main(R"(trusted_proxies[0]: "10.0.0.1/8")" + hint),
                            in_main(R"(trusted_proxies[2]: "proxy.local")" + hint),
                            in_main(R"(trusted_proxies[3]: "::/200")" + hint)));
}

TEST_F(ConfigTest, BadIntegers) {
    EXPECT_THAT(
        errors(config_with(R"("threads": 257, "limits": {"max_keys": 0, "max_body_bytes": -5,
                                      "max_header_bytes": 18446744073709551615, "upstream_idle_connections": -1,
                                      "max_connections": 0, "max_connections_per_ip": -1})")),
        ElementsAre(in_main("threads: must be between 0 and 256"), in_main("limits.max_keys: must be at least 1"),
                    in_main("limits.max_body_bytes: must be at least 1"),
                    in_main("limits.max_header_bytes: is too large"),
                    in_main("limits.upstream_idle_connections: must be at least 0"),
                    in_main("limits.max_connections: must be at least 1"),
                    in_main("limits.max_connections_per_ip: must be at least 0")));
    EXPECT_EQ(loaded(config_with(R"("threads": 256)")).proxy.threads, 256u);
}

TEST_F(ConfigTest, TheStoreIsLocalUnlessRedisIsConfigured) {
    EXPECT_FALSE(loaded(config_with("")).store);
    EXPECT_FALSE(loaded(config_with(R"("store": {"type": "local"})")).store);
}

TEST_F(ConfigTest, RedisStoreFields) {
    const Config config = loaded(config_with(R"("store": {"type": "redis", "url": "redis://fleet@10.0.0.5:6380/2",
        "password_file": "redis.password", "key_secret_file": "/etc/sluice/fleet.key", "key_prefix": "api:",
        "timeout": "3ms", "on_error": "closed"})"));
    ASSERT_TRUE(config.store);
    const RedisStoreConfig& store = *config.store;
    EXPECT_EQ(store.settings.endpoint, (RedisEndpoint{"10.0.0.5", 6380, "fleet", 2}));
    EXPECT_EQ(store.password_file, fs::path(path("redis.password"))) << "relative to the config's folder";
    EXPECT_EQ(store.key_secret_file, fs::path("/etc/sluice/fleet.key"));
    EXPECT_EQ(store.settings.key_prefix, "api:");
    EXPECT_EQ(store.settings.timeout, 3'000'000);
    EXPECT_EQ(store.on_error, StoreErrorPolicy::closed);
}

TEST_F(ConfigTest, RedisClusterSeeds) {
    const Config config = loaded(
        config_with(R"("store": {"type": "redis", "cluster": ["10.0.0.5:7000", "10.0.0.6"], "key_secret_file": "k"})"));
    ASSERT_TRUE(config.store);
    EXPECT_EQ(config.store->settings.cluster,
              (std::vector<RedisEndpoint>{{"10.0.0.5", 7000, "", 0}, {"10.0.0.6", 6379, "", 0}}));
}

TEST_F(ConfigTest, RedisStoreDefaults) {
    const Config config =
        loaded(config_with(R"("store": {"type": "redis", "url": "redis://h", "key_secret_file": "k"})"));
    ASSERT_TRUE(config.store);
    EXPECT_EQ(config.store->settings.endpoint, (RedisEndpoint{"h", 6379, "", 0}));
    EXPECT_TRUE(config.store->password_file.empty());
    EXPECT_EQ(config.store->settings.key_prefix, "sluice:");
    EXPECT_EQ(config.store->settings.timeout, 5'000'000);
    EXPECT_EQ(config.store->on_error, StoreErrorPolicy::local);
}

TEST_F(ConfigTest, BadStoreSections) {
    EXPECT_THAT(errors(config_with(R"("store": {"url": "redis://h"})")), ElementsAre(in_main("store.type: required")));
    EXPECT_THAT(errors(config_with(R"("store": {"type": "memcached"})")),
                ElementsAre(in_main(R"(store.type: "memcached" is not one of "local", "redis")")));
    EXPECT_THAT(errors(config_with(R"("store": {"type": "local", "url": "redis://h", "timeout": "1ms"})")),
                ElementsAre(in_main(R"(store.url: only with "type": "redis")"),
                            in_main(R"(store.timeout: only with "type": "redis")")));
    EXPECT_THAT(
        errors(config_with(R"("store": {"type": "redis"})")),
        ElementsAre(in_main(R"(store.url: required with "type": "redis" (or "cluster"))"),
                    in_main(R"(store.key_secret_file: required with "type": "redis": the key tokens and API keys are )"
                            "hashed with, the same file on every host")));
    EXPECT_THAT(
        errors(config_with(R"("store": {"type": "redis", "url": "redis://h", "key_secret_file": "k",
        "key_prefix": "a{b}", "timeout": "0s", "on_error": "fail", "cluster": ["h:7000"], "password_file": ""})")),
        ElementsAre(in_main(R"(store.key_prefix: must not hold "{" or "}": the braces after it hold the )"
                            "key's hash tag"),
                    in_main("store.timeout: must be greater than 0"),
                    in_main(R"(store.on_error: "fail" is not one of "local", "open", "closed")"),
                    in_main("store.password_file: must not be empty"),
                    in_main(R"(store.cluster: either "url" (one Redis) or "cluster" (its seed nodes), not both)")));
    EXPECT_THAT(errors(config_with(R"("store": {"type": "redis", "cluster": [], "key_secret_file": "k"})")),
                ElementsAre(in_main("store.cluster: must list at least one node")));
    EXPECT_THAT(errors(config_with(R"("store": {"type": "redis", "cluster": ["a:7000", "redis://b:7001"],
        "key_secret_file": "k"})")),
                ElementsAre(in_main(std::string("store.cluster[1]: ") + parse_redis_seed("redis://b:7001").error())));
    EXPECT_THAT(
        errors(config_with(R"("store": {"type": "redis", "url": "redis://h", "key_secret_file": "k", "x": 1})")),
        ElementsAre(in_main("store.x: unknown field")));
}

TEST_F(ConfigTest, RedisStoreRefusesQuotasLongerThanItCountsExactly) {
    EXPECT_THAT(
        errors(config_with(R"("store": {"type": "redis", "url": "redis://h", "key_secret_file": "k"},
            "quotas": [{"name": "monthly", "rate": 1000, "interval": "744h", "path": "/a"},
                       {"name": "yearly", "rate": 1000, "interval": "8760h", "path": "/b"}])")),
        ElementsAre(in_main("quotas[1]: with the Redis store: spans more than 52 days (interval, block_interval or the "
                            "time to refill the burst), more than the Redis store counts exactly")));
}

TEST_F(ConfigTest, AdminDefaults) {
    const Config config = loaded(config_with(R"("admin": {}, "state_dir": "/var/lib/sluice")"));
    ASSERT_TRUE(config.admin);
    EXPECT_EQ(config.admin->listen, (ListenAddress{"127.0.0.1", 9901}));
    EXPECT_EQ(config.admin->token_file, "/var/lib/sluice/admin.token");
    EXPECT_EQ(config.admin->max_body_bytes, 65536u);
    EXPECT_EQ(config.state_dir, std::filesystem::path("/var/lib/sluice"));
}

TEST_F(ConfigTest, AdminAllFieldsAndRelativePaths) {
    const Config config = loaded(config_with(
        R"("admin": {"listen": "[::1]:9999", "token_file": "secret/admin.token", "max_body_bytes": 4096},
           "state_dir": "state", "limits": {"max_blocks": 10})"));
    ASSERT_TRUE(config.admin);
    EXPECT_EQ(config.admin->listen, (ListenAddress{"::1", 9999}));
    EXPECT_EQ(config.admin->token_file, fs::path(path("secret/admin.token")));
    EXPECT_EQ(config.admin->max_body_bytes, 4096u);
    EXPECT_EQ(config.state_dir, fs::path(path("state")));
    EXPECT_EQ(config.max_blocks, 10u);
}

TEST_F(ConfigTest, AdminErrors) {
    EXPECT_THAT(
        errors(config_with(R"("admin": {"listen": "localhost:9901", "token_file": "", "max_body_bytes": 10,
                                              "colour": 1})")),
        ElementsAre(
            in_main(
                R"(admin.listen: "localhost:9901" is not an IP address and port, e.g. "127.0.0.1:8080" or "[::1]:8080")"),
            in_main("admin.token_file: must not be empty"),
            in_main("admin.max_body_bytes: must be between 1024 and 67108864"), in_main("admin.colour: unknown field"),
            in_main(R"(state_dir: required with "admin": quotas made through the admin API are kept there)")));
    EXPECT_THAT(errors(config_with(R"("state_dir": 7)")), ElementsAre(in_main("state_dir: must be a string")));
}

TEST_F(ConfigTest, XdpSectionAllFields) {
    const Config config = loaded(config_with(R"("xdp": {
        "interfaces": ["eth0", "eth1"], "mode": "native", "rate_pps": 20000, "burst": 40000, "ipv6_prefix": 56,
        "ports": [80, 443], "allow": ["127.0.0.0/8"], "deny": ["2001:db8::/32", "192.0.2.7"],
        "block_on_exceed": "10s", "max_sources": 100000, "max_blocked": 1000, "new_sources_per_cpu": 5000,
        "pin_path": "/sys/fs/bpf/sluice-edge", "detach_on_stop": true})"));
    ASSERT_TRUE(config.xdp);
    const XdpSettings& xdp = *config.xdp;
    EXPECT_THAT(xdp.interfaces, ElementsAre("eth0", "eth1"));
    EXPECT_EQ(xdp.mode, XdpMode::native);
    EXPECT_EQ(xdp.rate_pps, 20000);
    EXPECT_EQ(xdp.burst, 40000);
    EXPECT_EQ(xdp.ipv6_prefix, 56u);
    EXPECT_THAT(xdp.ports, ElementsAre(80, 443));
    EXPECT_THAT(xdp.allow, ElementsAre(*parse_cidr("127.0.0.0/8")));
    EXPECT_THAT(xdp.deny, ElementsAre(*parse_cidr("2001:db8::/32"), *parse_cidr("192.0.2.7/32")));
    EXPECT_EQ(xdp.block_on_exceed, 10'000'000'000);
    EXPECT_EQ(xdp.max_sources, 100000u);
    EXPECT_EQ(xdp.max_blocked, 1000u);
    EXPECT_EQ(xdp.new_sources_per_cpu, 5000);
    EXPECT_EQ(xdp.pin_path, "/sys/fs/bpf/sluice-edge");
    EXPECT_TRUE(xdp.detach_on_stop);
}

TEST_F(ConfigTest, XdpSectionDefaults) {
    const Config config = loaded(config_with(R"("xdp": {"interfaces": ["eth0"], "rate_pps": 100})"));
    ASSERT_TRUE(config.xdp);
    EXPECT_EQ(config.xdp->mode, XdpMode::automatic);
    EXPECT_EQ(config.xdp->burst, 0);  // means rate_pps
    EXPECT_EQ(config.xdp->ipv6_prefix, 64u);
    EXPECT_TRUE(config.xdp->ports.empty());
    EXPECT_EQ(config.xdp->block_on_exceed, 0);
    EXPECT_EQ(config.xdp->pin_path, "/sys/fs/bpf/sluice");
    EXPECT_FALSE(config.xdp->detach_on_stop);
    EXPECT_FALSE(loaded(config_with("")).xdp);
}

TEST_F(ConfigTest, XdpSectionErrors) {
    EXPECT_THAT(errors(config_with(R"("xdp": {"mode": "fast"})")),
                ElementsAre(in_main(R"(xdp.mode: "fast" is not one of "native", "generic", "auto")"),
                            in_main("xdp.interfaces: required"), in_main("xdp.rate_pps: required")));
    EXPECT_THAT(
        errors(config_with(R"("xdp": {"interfaces": ["eth0", "eth0", "a/b", "much-too-long-name0", ""],
                                      "rate_pps": 0, "burst": 0.5, "ipv6_prefix": 129, "ports": [0, 65536, 80],
                                      "allow": ["10.0.0.1/8"], "block_on_exceed": "-1s", "max_sources": 10,
                                      "max_blocked": 1, "new_sources_per_cpu": -1,
                                      "pin_path": "/tmp/pins", "detach_on_stop": "yes", "colour": 1})")),
        ElementsAre(
            in_main(R"(xdp.interfaces[1]: "eth0" is listed twice)"),
            in_main(R"(xdp.interfaces[2]: "a/b" is not an interface name (1 to 15 characters, no '/' or spaces))"),
            in_main(
                R"(xdp.interfaces[3]: "much-too-long-name0" is not an interface name (1 to 15 characters, no '/' or spaces))"),
            in_main(R"(xdp.interfaces[4]: "" is not an interface name (1 to 15 characters, no '/' or spaces))"),
            in_main("xdp.rate_pps: must be greater than 0 and at most 1000000000"),
            in_main("xdp.burst: must be at least 1 packet"), in_main("xdp.ipv6_prefix: must be between 1 and 128"),
            in_main("xdp.ports[0]: must be between 1 and 65535"), in_main("xdp.ports[1]: must be between 1 and 65535"),
            in_main(R"(xdp.allow[0]: "10.0.0.1/8" is not a CIDR block with its host bits zero, e.g. "10.0.0.0/8")"),
            in_main("xdp.block_on_exceed: must not be negative"),
            in_main("xdp.max_sources: must be between 1024 and 67108864"),
            in_main("xdp.max_blocked: must be between 16 and 16777216"),
            in_main("xdp.new_sources_per_cpu: must be greater than 0 and at most 1000000000"),
            in_main(R"(xdp.pin_path: "/tmp/pins" is not a folder under /sys/fs/bpf/)"),
            in_main("xdp.detach_on_stop: must be true or false"), in_main("xdp.colour: unknown field")));
    EXPECT_THAT(errors(config_with(R"("xdp": {"interfaces": [], "rate_pps": 1})")),
                ElementsAre(in_main("xdp.interfaces: must list at least one interface")));
    EXPECT_THAT(errors(config_with(R"("xdp": {"interfaces": ["a","b","c","d","e","f","g","h","i"], "rate_pps": 1})")),
                ElementsAre(in_main("xdp.interfaces: must list at most 8 interfaces")));
}

// The XDP program adds these times to its clock in 64 bits: beyond 36500d
// they wrapped, and a slow rate_pps overflowed its conversion to nanoseconds.
TEST_F(ConfigTest, XdpRatesBurstsAndBlocksStayWithin36500Days) {
    EXPECT_THAT(errors(config_with(R"("xdp": {"interfaces": ["eth0"], "rate_pps": 1e-10, "new_sources_per_cpu": 3e-10,
                                              "block_on_exceed": "36501d"})")),
                ElementsAre(in_main("xdp.rate_pps: 1e-10 per 1s is below the smallest supported rate (1 per 36500d)"),
                            in_main("xdp.new_sources_per_cpu: 3e-10 per 1s is below the smallest supported rate (1 per "
                                    "36500d)"),
                            in_main(R"(xdp.block_on_exceed: "36501d" is longer than the longest supported (36500d))")));
    EXPECT_THAT(errors(config_with(R"("xdp": {"interfaces": ["eth0"], "rate_pps": 1, "burst": 3.2e9})")),
                ElementsAre(in_main("xdp.burst: 3200000000 at 1 per 1s takes longer than the longest supported refill "
                                    "(36500d)")));
    EXPECT_THAT(errors(config_with(R"("xdp": {"interfaces": ["eth0"], "rate_pps": 1, "burst": 1e300})")),
                ElementsAre(in_main("xdp.burst: 1e+300 at 1 per 1s takes longer than the longest supported refill "
                                    "(36500d)")));
    EXPECT_THAT(errors(config_with(R"("xdp": {"interfaces": ["eth0"], "rate_pps": 1, "burst": 3.1e9,
                                              "new_sources_per_cpu": 3.2e-10, "block_on_exceed": "36500d"})")),
                IsEmpty());
}

TEST_F(ConfigTest, InvalidJsonGivesLineAndColumn) {
    const auto result = load("{\n  \"listen\": [\"127.0.0.1:8080\",\n  ],\n}");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].path, "");
    EXPECT_EQ(to_string(result.errors[0]),
              in_main("invalid JSON at line 3, column 3: syntax error while parsing value - unexpected ']'; "
                      "expected '[', '{', or a literal"));
    EXPECT_THAT(errors(""), ElementsAre(in_main("invalid JSON at line 1, column 1: syntax error while parsing value - "
                                                "unexpected end of input; expected '[', '{', or a literal")));
    EXPECT_THAT(errors(config_with(R"("threads": 1e400)")),
                ElementsAre(in_main("threads: 1e400 is out of range for a number")));
    EXPECT_THAT(errors(config_with_quotas(R"({"name": "a", "rate": 1}, {"name": "b", "rate": -1E+309})")),
                ElementsAre(in_main("quotas[1].rate: -1E+309 is out of range for a number")));
    EXPECT_THAT(errors("[0, [1], 1e999]"), ElementsAre(in_main("[2]: 1e999 is out of range for a number")));
    EXPECT_THAT(errors(config_with_quotas(R"({"name": "a", "rate": 1, "response": {"body": )" +
                                          std::string(100'000, '[') + std::string(100'000, ']') + "}}")),
                ElementsAre(in_main("invalid JSON: nested more than 64 levels deep")));
}

TEST_F(ConfigTest, UnreadableFile) {
    const auto result = load_config(path("absent.json"));
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(to_string(result.errors[0]), path("absent.json") + ": cannot read: No such file or directory");
}

// Neither may block or fill memory: refused without reading.
TEST_F(ConfigTest, QuotaFilesThatAreNotRegularFilesAreRefused) {
    fs::create_directories(dir_ / "quotas.d");
    ASSERT_EQ(mkfifo(path("quotas.d/fifo.json").c_str(), 0600), 0);
    fs::create_symlink("/dev/zero", dir_ / "quotas.d/zero.json");
    EXPECT_THAT(errors(config_with(R"("quota_files": ["quotas.d/*.json"])")),
                ElementsAre(path("quotas.d/fifo.json") + ": not a regular file",
                            path("quotas.d/zero.json") + ": not a regular file"));
    EXPECT_EQ(load_config(path("quotas.d/fifo.json")).errors.at(0).reason, "not a regular file");
}

TEST_F(ConfigTest, FilesOfMoreThan16MiBAreRefused) {
    const std::string quotas = R"({"quotas": []})";
    const std::string file = write("quotas.d/big.json", quotas + std::string((16 << 20) - quotas.size(), ' '));
    EXPECT_THAT(errors(config_with(R"("quota_files": ["quotas.d/*.json"])")), IsEmpty());
    std::ofstream(file, std::ios::app) << ' ';
    EXPECT_THAT(errors(config_with(R"("quota_files": ["quotas.d/*.json"])")),
                ElementsAre(file + ": larger than 16 MiB"));
}

// glob(3) takes an unclosed "[" as a plain character: the pattern would
// silently match nothing.
TEST_F(ConfigTest, AGlobWithAnUnclosedBracketIsAnError) {
    write("quotas.d/a.json", R"({"quotas": [{"name": "a", "rate": 1}]})");
    for (const std::string pattern :
         {"quotas.d/[a.json", "quotas.d/[].json", "quotas.d/[[:alpha].json", "[!a/*.json"}) {
        EXPECT_THAT(
            errors(config_with(R"("quota_files": ["quotas.d/*.txt", ")" + pattern + "\"]")),
            ElementsAre(in_main("quota_files[1]: \"" + pattern + "\" is not a valid pattern: a \"[\" is not closed")));
    }
    for (const std::string pattern : {"quotas.d/[ab].json", "quotas.d/[]a].json", "quotas.d/[!b].json",
                                      "quotas.d/[[:alpha:]].json", "quotas.d/[a-z].js[o]n"}) {
        EXPECT_EQ(loaded(config_with(R"("quota_files": [")" + pattern + "\"]")).quotas.size(), 1u) << pattern;
    }
    EXPECT_THAT(loaded(config_with(R"("quota_files": ["quotas.d/\\[a.json"])")).quotas, IsEmpty());
}

TEST_F(ConfigTest, EveryErrorIsReportedInDocumentOrder) {
    EXPECT_THAT(
        errors(R"({
        "listen": ["127.0.0.1:8080"],
        "quotas": [
            {"name": "ok", "rate": 1},
            {"name": "bad name", "rate": 0, "interval": "5x"},
            {"name": "ok", "rate": 1, "path": "/ok", "colour": "red"}
        ],
        "headers": "loud",
        "upstream": "https://x"
    })"),
        ElementsAre(in_main(R"(quotas[1].name: "bad name" is not a valid name: use 1 to 128 of A-Z a-z 0-9 . _ -)"),
                    in_main("quotas[1].rate: must be greater than 0"),
                    in_main(R"(quotas[1].interval: "5x" is not a duration)"),
                    in_main("quotas[2].colour: unknown field"),
                    in_main(R"(quotas[2].name: "ok" is already the name of )" + path("sluice.json") + ": quotas[0]"),
                    in_main(R"(headers: "loud" is not one of "draft", "x-ratelimit", "ietf", "none")"),
                    in_main("upstream: https upstreams are not supported")));
}

TEST(ConfigErrorText, OmitsEmptyParts) {
    EXPECT_EQ(to_string(ConfigError{"/etc/sluice/sluice.json", "quotas[2].interval", R"("5x" is not a duration)"}),
              R"(/etc/sluice/sluice.json: quotas[2].interval: "5x" is not a duration)");
    EXPECT_EQ(to_string(ConfigError{"/etc/sluice/sluice.json", "", "cannot read: Permission denied"}),
              "/etc/sluice/sluice.json: cannot read: Permission denied");
    EXPECT_EQ(to_string(ConfigError{"", "rate", "must be a number"}), "rate: must be a number");
}

// --- the shipped configs ---

std::vector<fs::path> shipped_configs() {
    const fs::path configs = fs::path(SLUICE_SOURCE_DIR) / "configs";
    std::vector<fs::path> files;
    for (const fs::path& folder : {configs, configs / "examples"})
        for (const fs::directory_entry& entry : fs::directory_iterator(folder))
            if (entry.path().extension() == ".json" && entry.path().filename() != "sluice.schema.json")
                files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

TEST(ShippedConfigs, EveryOneLoads) {
    const std::vector<fs::path> files = shipped_configs();
    EXPECT_GE(files.size(), 4u);
    for (const fs::path& file : files) {
        const ConfigLoad result = load_config(file);
        for (const ConfigError& e : result.errors) ADD_FAILURE() << to_string(e);
        EXPECT_FALSE(result.config.quotas.empty()) << file;
    }
}

TEST(ShippedConfigs, PerIpAndToken) {
    const ConfigLoad result = load_config(fs::path(SLUICE_SOURCE_DIR) / "configs/examples/per-ip-and-token.json");
    ASSERT_TRUE(result.ok());
    const Config& c = result.config;
    EXPECT_EQ(c.headers, HeaderStyle::draft);
    ASSERT_EQ(c.quotas.size(), 2u);
    const Quota& per_ip = c.quotas[0];
    EXPECT_EQ(per_ip.path, "/v1/*");
    EXPECT_EQ(per_ip.key.kind, KeyKind::client_ip);
    EXPECT_EQ(per_ip.rate, 200);
    EXPECT_EQ(per_ip.interval, 1min);
    EXPECT_EQ(per_ip.algorithm, Algorithm::fixed_window);
    EXPECT_EQ(per_ip.response, (RefusalResponse{429, R"({"message":"Rate limit exceeded"})", {}}));
    const Quota& exchange = c.quotas[1];
    EXPECT_EQ(exchange.path, "/v1/auth/exchange");
    EXPECT_EQ(exchange.method, "POST");
    EXPECT_EQ(exchange.key.kind, KeyKind::bearer_token);
    EXPECT_EQ(exchange.rate, 10);
    EXPECT_EQ(exchange.interval, 1min);
    EXPECT_EQ(exchange.response, per_ip.response);
}

TEST(ShippedConfigs, PerEndpointApiKey) {
    const ConfigLoad result = load_config(fs::path(SLUICE_SOURCE_DIR) / "configs/examples/per-endpoint-api-key.json");
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.config.headers, HeaderStyle::x_ratelimit);
    EXPECT_EQ(result.config.quotas.size(), 23u);  // the document's table, its repeated row once
    for (const Quota& q : result.config.quotas) {
        EXPECT_EQ(q.key, (QuotaKey{KeyKind::header, "X-API-Key"})) << q.name;
        EXPECT_EQ(q.algorithm, Algorithm::fixed_window) << q.name;
        EXPECT_EQ(q.interval, 1min) << q.name;
        EXPECT_FALSE(q.response) << q.name;
    }
    const auto find = [&](std::string_view method, std::string_view path) {
        for (const Quota& q : result.config.quotas)
            if (q.method == method && q.path == path) return q.rate;
        return 0.0;
    };
    EXPECT_EQ(find("POST", "/api/v1/scans"), 10);
    EXPECT_EQ(find("GET", "/api/v1/scans"), 100);
    EXPECT_EQ(find("GET", "/api/v1/scans/{id}"), 200);
    EXPECT_EQ(find("GET", "/api/v1/scans/{id}/progress"), 500);
    EXPECT_EQ(find("GET", "/api/v1/admin/stats"), 50);
}

TEST(ShippedConfigs, VaultStyle) {
    const ConfigLoad result = load_config(fs::path(SLUICE_SOURCE_DIR) / "configs/examples/vault-style.json");
    ASSERT_TRUE(result.ok());
    ASSERT_EQ(result.config.quotas.size(), 2u);
    const Quota& global = result.config.quotas[0];
    EXPECT_EQ(global.path, "");
    EXPECT_DOUBLE_EQ(global.rate, 897.3);
    EXPECT_EQ(global.interval, 2min);
    EXPECT_EQ(global.block_interval, 5min);
    EXPECT_EQ(result.config.quotas[1].path, "/v1/secret/*");
    EXPECT_GT(result.config.quotas[1].block_interval, 0s);
}

TEST(ShippedConfigs, DemoIncludesItsQuotaFolder) {
    const ConfigLoad result = load_config(fs::path(SLUICE_SOURCE_DIR) / "configs/demo.json");
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.config.proxy.listen, (std::vector<ListenAddress>{{"127.0.0.1", 8080}}));
    EXPECT_EQ(result.config.proxy.upstream, (ListenAddress{"127.0.0.1", 9000}));
    std::vector<std::string> names;
    for (const Quota& q : result.config.quotas) names.push_back(q.name);
    EXPECT_THAT(names, ElementsAre("per-ip", "token-exchange", "search-trial", "health-all-clients"));
    EXPECT_EQ(result.config.quotas[2].mode, QuotaMode::dry_run);
}

}  // namespace
}  // namespace sluice
