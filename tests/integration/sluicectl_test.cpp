// sluicectl against a running sluiced: every command through the real admin
// API, with the exact tables people see, the JSON scripts read, and the exact
// messages and exit codes of connection and auth failures.
#include "harness.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>

namespace sluice::test {
namespace {

struct CtlRun {
    int exit_code = -1;
    std::string out;
    std::string err;
};

CtlRun run_sluicectl(const std::vector<std::string>& args) {
    ChildProcess process(SLUICECTL_BINARY, args);
    CtlRun run;
    run.exit_code = process.wait_exit(std::chrono::seconds(20));
    run.out = process.stdout_text();
    run.err = process.stderr_text();
    return run;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
        lines.push_back(text.substr(start, end - start));
    return lines;
}

std::string read_token(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::string token;
    std::getline(in, token);
    return token;
}

// sluiced with an admin section and a file quota. The token file and
// state_dir are relative to the config's folder, where sluiced creates the
// token: sluicectl --config must find it the same way.
class Sluicectl : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // The test's own environment must not choose the server or the token.
        for (const char* name : {"SLUICE_ADDR", "SLUICE_TOKEN", "SLUICE_CONFIG", "VAULT_ADDR", "VAULT_TOKEN"})
            unsetenv(name);
    }

    Sluicectl()
        : admin_address_("127.0.0.1:" + std::to_string(free_port())),
          sluice_(config()),
          config_file_(sluice_.write_config(config())),  // the same config again: only to learn its path
          token_(read_token(sluice_.dir().path() / "admin.token")) {}

    nlohmann::json config() const {
        return {{"quotas",
                 {{{"name", "per-ip"},
                   {"path", "/v1/*"},
                   {"rate", 100},
                   {"interval", "1m"},
                   {"algorithm", "fixed_window"}}}},
                {"admin", {{"listen", admin_address_}, {"token_file", "admin.token"}}},
                {"state_dir", "state"}};
    }

    // sluicectl with the address and token as flags.
    CtlRun ctl(std::vector<std::string> args) const {
        args.insert(args.begin(), {"--address", admin_address_, "--token", token_});
        return run_sluicectl(args);
    }

    // A command that must succeed; its standard output.
    std::string ok(const std::vector<std::string>& args) const {
        const CtlRun run = ctl(args);
        EXPECT_EQ(run.exit_code, 0) << run.err;
        EXPECT_EQ(run.err, "");
        return run.out;
    }

    std::string admin_address_;
    Deployment sluice_;
    std::filesystem::path config_file_;
    std::string token_;
};

TEST_F(Sluicectl, QuotaSetGetListDeleteRoundTrip) {
    EXPECT_EQ(ok({"quota", "set", "scans", "rate=10", "interval=1m", "path=/api/v1/scans", "method=POST",
                  "key=header:X-API-Key", "block_interval=5m", "mode=dry_run"}),
              "quota \"scans\" saved\n");

    EXPECT_EQ(ok({"quota", "get", "scans"}),
              "FIELD           VALUE\n"
              "name            scans\n"
              "path            /api/v1/scans\n"
              "type            rate-limit\n"
              "rate            10\n"
              "interval        1m\n"
              "block_interval  5m\n"
              "role            \"\"\n"
              "inheritable     false\n"
              "method          POST\n"
              "key             header:X-API-Key\n"
              "algorithm       token_bucket\n"
              "burst           10\n"
              "mode            dry_run\n"
              "cumulative      false\n"
              "response        -\n"
              "headers         -\n"
              "defined_in      api\n");

    EXPECT_EQ(ok({"quota", "list"}),
              "NAME    PATH                KEY               RATE  INTERVAL  DEFINED_IN\n"
              "per-ip  /v1/*               client_ip         100   1m        " +
                  config_file_.string() +
                  "\n"
                  "scans   POST /api/v1/scans  header:X-API-Key  10    1m        api\n");

    const nlohmann::json quota = nlohmann::json::parse(ok({"quota", "get", "scans", "--json"}));
    EXPECT_EQ(quota["rate"], 10);
    EXPECT_EQ(quota["interval"], 60);
    EXPECT_EQ(quota["block_interval"], 300);
    EXPECT_EQ(quota["key"], "header:X-API-Key");
    EXPECT_EQ(quota["mode"], "dry_run");
    EXPECT_EQ(quota["defined_in"], "api");

    const nlohmann::json list = nlohmann::json::parse(ok({"--json", "quota", "list"}));
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0]["name"], "per-ip");
    EXPECT_EQ(list[0]["defined_in"], config_file_.string());
    EXPECT_EQ(list[1], quota);

    EXPECT_EQ(ok({"quota", "delete", "scans"}), "quota \"scans\" deleted\n");
    const CtlRun gone = ctl({"quota", "get", "scans"});
    EXPECT_EQ(gone.exit_code, 1);
    EXPECT_EQ(gone.err, "sluicectl: no quota named \"scans\"\n");
    EXPECT_EQ(gone.out, "");
    EXPECT_EQ(ok({"quota", "list"}),
              "NAME    PATH   KEY        RATE  INTERVAL  DEFINED_IN\n"
              "per-ip  /v1/*  client_ip  100   1m        " +
                  config_file_.string() + "\n");
}

TEST_F(Sluicectl, QuotaFromAFileWithFieldsOnTop) {
    const auto file = sluice_.dir().write("exchange.json", R"({"path": "/v1/auth/exchange", "method": "POST",
        "key": "bearer_token", "rate": 5, "interval": "1m"})");
    EXPECT_EQ(ok({"quota", "set", "exchange", "--file", file.string(), "rate=10"}), "quota \"exchange\" saved\n");
    const nlohmann::json quota = nlohmann::json::parse(ok({"quota", "get", "exchange", "--json"}));
    EXPECT_EQ(quota["path"], "/v1/auth/exchange");
    EXPECT_EQ(quota["method"], "POST");
    EXPECT_EQ(quota["key"], "bearer_token");
    EXPECT_EQ(quota["rate"], 10);
}

TEST_F(Sluicectl, TheServersRefusalsAreExit1WithItsErrors) {
    const CtlRun zero_rate = ctl({"quota", "set", "bad", "rate=0"});
    EXPECT_EQ(zero_rate.exit_code, 1);
    EXPECT_EQ(zero_rate.err, "sluicectl: 400: 'rate' is invalid\n");

    const CtlRun file_quota = ctl({"quota", "delete", "per-ip"});
    EXPECT_EQ(file_quota.exit_code, 1);
    EXPECT_EQ(file_quota.err, "sluicectl: 400: quota \"per-ip\" is defined in " + config_file_.string() +
                                  ": change it there and reload (SIGHUP)\n");

    const CtlRun bad_ip = ctl({"block", "add", "nope"});
    EXPECT_EQ(bad_ip.exit_code, 1);
    EXPECT_EQ(bad_ip.err, "sluicectl: 400: \"nope\" is not an IP address\n");

    const CtlRun no_quota = ctl({"usage", "absent", "127.0.0.1"});
    EXPECT_EQ(no_quota.exit_code, 1);
    EXPECT_EQ(no_quota.err, "sluicectl: no quota named \"absent\"\n");
}

// This sluiced's store is the local one: no fleet to show.
TEST_F(Sluicectl, NodesWithoutAFleetIsExit1WithTheServersReason) {
    const CtlRun run = ctl({"nodes"});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_EQ(run.err,
              "sluicectl: 404: no fleet: this host's store is not Redis (store.type \"redis\" shares blocks and "
              "quotas)\n");
    EXPECT_EQ(run.out, "");
}

TEST_F(Sluicectl, UsageAfterProxyRequestsShowsExactCounts) {
    HttpClient client = sluice_.client();
    for (int i = 0; i < 3; ++i) ASSERT_EQ(client.get("/v1/things").result_int(), 200);

    const std::vector<std::string> table = lines_of(ok({"usage", "per-ip", "127.0.0.1"}));
    ASSERT_EQ(table.size(), 2u);
    EXPECT_EQ(table[0], "QUOTA   KEY        REQUESTS_IN_WINDOW  LIMIT  REMAINING  RESET_TIME");
    EXPECT_TRUE(std::regex_match(table[1], std::regex(R"(per-ip  127\.0\.0\.1  3                   100    97         )"
                                                      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
        << table[1];

    const nlohmann::json usage = nlohmann::json::parse(ok({"usage", "per-ip", "127.0.0.1", "--json"}));
    EXPECT_EQ(usage["quota"], "per-ip");
    EXPECT_EQ(usage["key"], "127.0.0.1");
    EXPECT_EQ(usage["current_usage"]["requests_in_window"], 3);
    EXPECT_EQ(usage["current_usage"]["limit"], 100);
    EXPECT_EQ(usage["current_usage"]["remaining"], 97);
}

TEST_F(Sluicectl, UsageOfAnApiKeyGivenInClearWithCharactersThatNeedEncoding) {
    EXPECT_EQ(ok({"quota", "set", "scans", "path=/api/*", "key=header:X-API-Key", "rate=10", "interval=1m",
                  "algorithm=fixed_window"}),
              "quota \"scans\" saved\n");
    HttpClient client = sluice_.client();
    for (int i = 0; i < 2; ++i) ASSERT_EQ(client.get("/api/scans", {{"X-API-Key", "k 1+2&x=%"}}).result_int(), 200);
    const nlohmann::json usage = nlohmann::json::parse(ok({"--json", "usage", "scans", "k 1+2&x=%"}));
    EXPECT_EQ(usage["key"], "k 1+2&x=%");
    EXPECT_EQ(usage["current_usage"]["requests_in_window"], 2);
    EXPECT_EQ(usage["current_usage"]["remaining"], 8);
}

TEST_F(Sluicectl, BlockAddListRemove) {
    EXPECT_EQ(ok({"block", "list"}), "no blocked clients\n");
    EXPECT_EQ(ok({"block", "add", "198.51.100.7", "--duration", "10m"}), "blocked 198.51.100.7\n");
    EXPECT_EQ(ok({"block", "add", "2001:db8::1"}), "blocked 2001:db8::1\n");  // the server's default: 1h

    const std::vector<std::string> table = lines_of(ok({"block", "list"}));
    ASSERT_EQ(table.size(), 3u);
    EXPECT_EQ(table[0], "CLIENT        EXPIRES               REMAINING  ORIGIN");
    const std::string expires = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)";
    EXPECT_TRUE(std::regex_match(table[1], std::regex("198\\.51\\.100\\.7  " + expires + "  (10m|9m5\\ds)  +api")))
        << table[1];
    EXPECT_TRUE(std::regex_match(table[2], std::regex("2001:db8::1   " + expires + "  (1h|59m5\\ds)  +api")))
        << table[2];

    const nlohmann::json blocks = nlohmann::json::parse(ok({"block", "list", "--json"}));
    ASSERT_EQ(blocks.size(), 2u);
    EXPECT_EQ(blocks[0]["client"], "198.51.100.7");
    EXPECT_EQ(blocks[0]["origin"], "api");
    EXPECT_GE(blocks[0]["remaining_seconds"], 598);
    EXPECT_LE(blocks[0]["remaining_seconds"], 600);

    EXPECT_EQ(ok({"block", "remove", "198.51.100.7"}), "unblocked 198.51.100.7\n");
    EXPECT_EQ(ok({"block", "remove", "2001:db8::1"}), "unblocked 2001:db8::1\n");
    EXPECT_EQ(ok({"block", "list"}), "no blocked clients\n");
    EXPECT_EQ(ok({"block", "list", "--json"}), "[]\n");
}

TEST_F(Sluicectl, StatsCountsTheRequests) {
    EXPECT_EQ(ok({"quota", "set", "tight", "path=/tight", "rate=2", "interval=1m", "algorithm=fixed_window"}),
              "quota \"tight\" saved\n");
    HttpClient client = sluice_.client();
    for (int i = 0; i < 2; ++i) ASSERT_EQ(client.get("/tight").result_int(), 200);
    ASSERT_EQ(client.get("/tight").result_int(), 429);
    ASSERT_EQ(client.get("/v1/things").result_int(), 200);

    const std::string text = ok({"stats"});
    EXPECT_EQ(text.substr(0, text.find("\n\n") + 2),
              "QUOTA   ALLOWED  LIMITED  DRY_RUN\n"
              "per-ip  1        0        0\n"
              "tight   2        1        0\n"
              "\n")
        << text;
    EXPECT_NE(text.find("\nrequests forwarded       3\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\nrequests limited         1\n"), std::string::npos) << text;

    const nlohmann::json stats = nlohmann::json::parse(ok({"stats", "--json"}));
    EXPECT_EQ(stats["quotas"], nlohmann::json::parse(R"([{"quota":"per-ip","allowed":1,"limited":0,"dry_run":0},
                                                        {"quota":"tight","allowed":2,"limited":1,"dry_run":0}])"));
    EXPECT_EQ(stats["requests"]["forwarded"], 3);
    EXPECT_EQ(stats["requests"]["limited"], 1);
    EXPECT_EQ(stats["requests"]["blocked"], 0);
    EXPECT_EQ(stats["tracked_keys"], 2);
    EXPECT_EQ(stats["tracked_keys_limit"], 1000000);
    EXPECT_EQ(stats["blocks"], 0);
    EXPECT_EQ(stats["upstream_errors"]["timeout"], 0);
    EXPECT_EQ(stats["xdp"], nlohmann::json::array());
}

TEST_F(Sluicectl, AWrongTokenIsExit4) {
    const CtlRun run = run_sluicectl({"--address", admin_address_, "--token", "wrong", "quota", "list"});
    EXPECT_EQ(run.exit_code, 4);
    EXPECT_EQ(run.err, "sluicectl: 403 permission denied: the token is wrong\n");
    EXPECT_EQ(run.out, "");
}

TEST_F(Sluicectl, NoTokenIsExit4) {
    // A config without an admin section: no token from anywhere.
    const auto no_admin = sluice_.dir().write("no-admin.json", R"({"listen": ["127.0.0.1:1"]})");
    const CtlRun run = run_sluicectl({"--address", admin_address_, "--config", no_admin.string(), "stats"});
    EXPECT_EQ(run.exit_code, 4);
    EXPECT_EQ(run.err, "sluicectl: 401 missing client token: pass --token, SLUICE_TOKEN or --config\n");
}

TEST_F(Sluicectl, NothingListeningIsExit3) {
    const std::string address = "127.0.0.1:" + std::to_string(free_port());
    const CtlRun run = run_sluicectl({"--address", address, "--token", token_, "quota", "list"});
    EXPECT_EQ(run.exit_code, 3);
    EXPECT_EQ(run.err, "sluicectl: cannot connect to " + address +
                           ": Connection refused (is sluiced running with an admin section?)\n");
    EXPECT_EQ(run.out, "");
}

TEST_F(Sluicectl, AddressAndTokenFromTheConfig) {
    const CtlRun run = run_sluicectl({"--config", config_file_.string(), "block", "list"});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, "no blocked clients\n");
}

TEST_F(Sluicectl, AddressAndTokenFromTheEnvironment) {
    setenv("VAULT_ADDR", ("http://" + admin_address_).c_str(), 1);
    setenv("SLUICE_TOKEN", token_.c_str(), 1);
    const CtlRun run = run_sluicectl({"block", "list"});
    unsetenv("VAULT_ADDR");
    unsetenv("SLUICE_TOKEN");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, "no blocked clients\n");
}

TEST_F(Sluicectl, AUsageErrorIsExit2AndSendsNothing) {
    const CtlRun run = ctl({"quota", "set", "scans", "rate=ten"});
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(run.err, "sluicectl: rate: \"ten\" is not a number\n");
    const CtlRun list = ctl({"quota", "get", "scans"});
    EXPECT_EQ(list.err, "sluicectl: no quota named \"scans\"\n");
}

}  // namespace
}  // namespace sluice::test
