// The admin API over real sockets against a running sluiced: auth, limits
// of the listener, quotas made through it enforced on the proxy port at once,
// persistence across restarts and kill -9.
#include "harness.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

using ::testing::HasSubstr;
using ::testing::Not;

namespace sluice::test {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// sluiced with an admin listener, its token file and state_dir in a folder
// that outlives the process, so that a new sluiced can start on the same state.
class AdminSluice {
public:
    explicit AdminSluice(nlohmann::json quotas = nlohmann::json::array()) : admin_port_(free_port()) {
        config_ = {
            {"quotas", std::move(quotas)},
            {"admin", {{"listen", "127.0.0.1:" + std::to_string(admin_port_)}, {"token_file", token_file().string()}}},
            {"state_dir", (state_.path() / "state").string()}};
        start();
    }

    void start() {
        deployment_ = std::make_unique<Deployment>(config_);
        std::string token = read_file(token_file());
        token_ = token.substr(0, token.find_last_not_of("\n") + 1);
    }
    // SIGTERM, then a new sluiced on the same state_dir and token file.
    void restart() {
        EXPECT_EQ(deployment_->stop_sluiced(), 0);
        deployment_.reset();
        start();
    }
    // After a SIGKILL.
    void restart_killed() {
        EXPECT_EQ(deployment_->sluiced().wait_exit(std::chrono::seconds(5)), 128 + SIGKILL);
        deployment_.reset();
        start();
    }

    fs::path token_file() const { return state_.path() / "secrets" / "admin.token"; }
    const std::string& token() const { return token_; }
    std::uint16_t admin_port() const { return admin_port_; }
    Deployment& deployment() { return *deployment_; }
    HttpClient proxy() const { return deployment_->client(); }
    HttpClient admin() const { return HttpClient(admin_port_); }

    // One admin call on a connection of its own, with the token.
    HttpResponse call(const std::string& method, const std::string& target, const std::string& body = "") const {
        HttpClient client = admin();
        return client.request(method, target, {{"X-Vault-Token", token_}}, body);
    }

private:
    testing::TempFolder state_;
    std::uint16_t admin_port_;
    nlohmann::json config_;
    std::unique_ptr<Deployment> deployment_;
    std::string token_;
};

const nlohmann::json kPerIpFileQuota = {{{"name", "per-ip"}, {"path", "/v1/*"}, {"rate", 5}, {"interval", "1h"}}};

TEST(AdminApi, CreatesTheTokenFileWithMode0600AndSaysWhere) {
    AdminSluice sluice;
    struct stat st {};
    ASSERT_EQ(::stat(sluice.token_file().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(sluice.token().size(), 64u);
    const std::string log = sluice.deployment().sluiced().stderr_text();
    EXPECT_THAT(log, HasSubstr("sluiced: admin token created in " + sluice.token_file().string() + " (mode 0600)\n"));
    EXPECT_THAT(log, HasSubstr("sluiced: admin API on http://127.0.0.1:" + std::to_string(sluice.admin_port()) + "\n"));

    const std::string token = sluice.token();
    sluice.restart();
    EXPECT_EQ(sluice.token(), token);
    EXPECT_THAT(sluice.deployment().sluiced().stderr_text(), Not(HasSubstr("admin token created")));
}

TEST(AdminApi, MissingTokenIs401WrongIs403AndEachHeaderWorks) {
    AdminSluice sluice;
    HttpClient client = sluice.admin();
    const HttpResponse missing = client.get("/v1/sys/quotas/config");
    EXPECT_EQ(missing.result_int(), 401);
    EXPECT_EQ(missing.body(), R"({"errors":["missing client token"]})");
    EXPECT_EQ(header(missing, "Content-Type"), "application/json");
    const HttpResponse wrong = client.get("/v1/sys/quotas/config", {{"X-Vault-Token", sluice.token() + "x"}});
    EXPECT_EQ(wrong.result_int(), 403);
    EXPECT_EQ(wrong.body(), R"({"errors":["permission denied"]})");
    for (const Headers& headers :
         {Headers{{"X-Vault-Token", sluice.token()}}, Headers{{"X-Sluice-Token", sluice.token()}},
          Headers{{"Authorization", "Bearer " + sluice.token()}}}) {
        EXPECT_EQ(client.get("/v1/sys/quotas/config", headers).result_int(), 200) << headers[0].first;
    }
    EXPECT_FALSE(client.connection_closed());  // all on one kept-alive connection
    EXPECT_EQ(client.get("/v1/sys/health").result_int(), 200);
}

TEST(AdminApi, BodiesOverTheLimitAre413) {
    AdminSluice sluice;
    std::string fits = R"({"rate": 1})";
    fits.resize(65536, ' ');
    EXPECT_EQ(sluice.call("PUT", "/v1/sys/quotas/rate-limit/fits", fits).result_int(), 204);

    HttpClient client = sluice.admin();
    const HttpResponse r =
        client.request("PUT", "/v1/sys/quotas/rate-limit/big", {{"X-Vault-Token", sluice.token()}}, fits + " ");
    EXPECT_EQ(r.result_int(), 413);
    EXPECT_EQ(r.body(), R"({"errors":["request body exceeds 65536 bytes"]})");
    EXPECT_TRUE(client.connection_closed());
    EXPECT_EQ(sluice.call("GET", "/v1/sys/quotas/rate-limit/big").result_int(), 404);
}

TEST(AdminApi, OversizedHeadersAndMalformedRequestsAreRefusedInJson) {
    AdminSluice sluice;
    HttpClient client = sluice.admin();
    const HttpResponse big = client.get("/v1/sys/health", {{"X-Padding", std::string(17 * 1024, 'p')}});
    EXPECT_EQ(big.result_int(), 431);
    EXPECT_EQ(big.body(), R"({"errors":["request header exceeds 16384 bytes"]})");
    EXPECT_TRUE(client.connection_closed());

    const RawExchange garbage = raw_exchange(sluice.admin_port(), "G@T / HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(garbage.closed);
    EXPECT_TRUE(garbage.received.starts_with("HTTP/1.1 400 Bad Request\r\n")) << garbage.received;
    EXPECT_TRUE(garbage.received.ends_with("\r\n\r\n{\"errors\":[\"method \\\"G@T\\\" is not an upper-case token\"]}"))
        << garbage.received;
}

TEST(AdminApi, AnswersAsVaultDoesOnTheWire) {
    AdminSluice sluice;
    const HttpResponse created = sluice.call("PUT", "/v1/sys/quotas/rate-limit/q", R"({"rate": 1})");
    EXPECT_EQ(created.result_int(), 204);
    EXPECT_EQ(created.body(), "");
    EXPECT_EQ(header(created, "Content-Length"), "");
    EXPECT_EQ(header(created, "Content-Type"), "");

    const HttpResponse wrong_method = sluice.call("PATCH", "/v1/sys/quotas/rate-limit/q");
    EXPECT_EQ(wrong_method.result_int(), 405);
    EXPECT_EQ(header(wrong_method, "Allow"), "GET, POST, PUT, DELETE");
    EXPECT_EQ(wrong_method.body(), R"({"errors":["method not allowed"]})");

    const HttpResponse absent = sluice.call("GET", "/v1/sys/quotas/rate-limit/absent");
    EXPECT_EQ(absent.result_int(), 404);
    EXPECT_EQ(absent.body(), R"({"errors":[]})");

    const HttpResponse metrics = sluice.call("GET", "/metrics");
    EXPECT_EQ(metrics.result_int(), 200);
    EXPECT_EQ(header(metrics, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");

    const HttpResponse health = sluice.admin().get("/v1/sys/health");
    EXPECT_EQ(health.result_int(), 200);
    const nlohmann::json body = nlohmann::json::parse(health.body());
    EXPECT_EQ(body["sealed"], false);
    ChildProcess version(SLUICED_BINARY, {"--version"});
    ASSERT_EQ(version.wait_exit(std::chrono::seconds(5)), 0);
    EXPECT_EQ("sluiced " + body["version"].get<std::string>() + "\n", version.stdout_text());
}

TEST(AdminApi, ListMethodAndListQuery) {
    AdminSluice sluice(kPerIpFileQuota);
    ASSERT_EQ(sluice.call("PUT", "/v1/sys/quotas/rate-limit/api-made", R"({"path": "/x", "rate": 1})").result_int(),
              204);
    for (const auto& [method, target] :
         {std::pair{"LIST", "/v1/sys/quotas/rate-limit"}, std::pair{"GET", "/v1/sys/quotas/rate-limit?list=true"}}) {
        const HttpResponse r = sluice.call(method, target);
        EXPECT_EQ(r.result_int(), 200);
        EXPECT_EQ(nlohmann::json::parse(r.body())["data"].dump(), R"({"keys":["api-made","per-ip"]})") << method;
    }
}

TEST(AdminApi, ANewQuotaIsEnforcedOnTheNextRequestAndDeletingItEndsIt) {
    AdminSluice sluice;
    HttpClient proxy = sluice.proxy();
    EXPECT_EQ(proxy.get("/api/a").result_int(), 200);  // no quota yet
    ASSERT_EQ(sluice
                  .call("PUT", "/v1/sys/quotas/rate-limit/api",
                        R"({"path": "/api/*", "rate": 3, "interval": "1h", "algorithm": "fixed_window"})")
                  .result_int(),
              204);
    for (int i = 0; i < 3; ++i) {
        const HttpResponse r = proxy.get("/api/a");
        EXPECT_EQ(r.result_int(), 200);
        EXPECT_EQ(header(r, "RateLimit-Remaining"), std::to_string(2 - i));
    }
    const HttpResponse refused = proxy.get("/api/a");
    EXPECT_EQ(refused.result_int(), 429);
    EXPECT_EQ(refused.body(),
              R"({"error":"rate_limit_exceeded","message":"Too many requests. Rate limit exceeded.","quota":"api"})");
    EXPECT_EQ(header(refused, "Retry-After"), "3600");

    const HttpResponse usage = sluice.call("GET", "/v1/sys/quotas/rate-limit/api/usage?key=127.0.0.1");
    EXPECT_EQ(usage.result_int(), 200);
    EXPECT_EQ(nlohmann::json::parse(usage.body())["current_usage"]["requests_in_window"], 3);

    ASSERT_EQ(sluice.call("DELETE", "/v1/sys/quotas/rate-limit/api").result_int(), 204);
    EXPECT_EQ(proxy.get("/api/a").result_int(), 200);
    EXPECT_EQ(sluice.call("GET", "/v1/sys/quotas/rate-limit/api").result_int(), 404);
}

TEST(AdminApi, ChangesThroughTheApiKeepTheCountersOfUntouchedQuotas) {
    AdminSluice sluice(kPerIpFileQuota);
    HttpClient proxy = sluice.proxy();
    EXPECT_EQ(header(proxy.get("/v1/a"), "RateLimit-Remaining"), "4");
    EXPECT_EQ(header(proxy.get("/v1/a"), "RateLimit-Remaining"), "3");
    ASSERT_EQ(sluice.call("PUT", "/v1/sys/quotas/rate-limit/other", R"({"path": "/other", "rate": 9})").result_int(),
              204);
    EXPECT_EQ(header(proxy.get("/v1/a"), "RateLimit-Remaining"), "2");
    ASSERT_EQ(sluice.call("PUT", "/v1/sys/quotas/rate-limit/other", R"({"path": "/other", "rate": 1})").result_int(),
              204);
    EXPECT_EQ(header(proxy.get("/v1/a"), "RateLimit-Remaining"), "1");
    ASSERT_EQ(sluice.call("DELETE", "/v1/sys/quotas/rate-limit/other").result_int(), 204);
    EXPECT_EQ(header(proxy.get("/v1/a"), "RateLimit-Remaining"), "0");
    EXPECT_EQ(proxy.get("/v1/a").result_int(), 429);
}

// Traffic on two threads, API changes on a third: the untouched quota counts
// every request of the whole run (its counters never restart), and every
// quota the API makes refuses on the first request past it.
TEST(AdminApi, ChangesWhileTrafficFlowsKeepUntouchedCountersExact) {
    const nlohmann::json steady = {{{"name", "steady"},
                                    {"path", "/steady"},
                                    {"rate", 1000000},
                                    {"interval", "1h"},
                                    {"algorithm", "fixed_window"}}};
    AdminSluice sluice(steady);
    std::atomic<int> admitted{0};
    std::atomic<int> other{0};
    std::atomic<bool> done{false};
    std::vector<std::thread> traffic;
    for (int t = 0; t < 2; ++t) {
        traffic.emplace_back([&] {
            HttpClient client = sluice.proxy();
            while (!done) ++(client.get("/steady").result_int() == 200 ? admitted : other);
        });
    }
    for (int i = 0; i < 20; ++i) {
        const std::string name = "made-" + std::to_string(i);
        ASSERT_EQ(sluice
                      .call("PUT", "/v1/sys/quotas/rate-limit/" + name,
                            R"({"path": "/)" + name + R"(", "rate": 1, "interval": "1h", "algorithm": "fixed_window"})")
                      .result_int(),
                  204);
        HttpClient client = sluice.proxy();
        EXPECT_EQ(client.get("/" + name).result_int(), 200) << name;
        EXPECT_EQ(client.get("/" + name).result_int(), 429) << name;
        if (i % 2 == 1) {
            ASSERT_EQ(sluice.call("DELETE", "/v1/sys/quotas/rate-limit/made-" + std::to_string(i - 1)).result_int(),
                      204);
        }
    }
    const int admitted_during_changes = admitted;
    done = true;
    for (std::thread& t : traffic) t.join();
    EXPECT_GT(admitted_during_changes, 0) << "the traffic ran while the quotas changed";
    EXPECT_EQ(other, 0);
    const nlohmann::json usage =
        nlohmann::json::parse(sluice.call("GET", "/v1/sys/quotas/rate-limit/steady/usage?key=127.0.0.1").body());
    EXPECT_EQ(usage["current_usage"]["requests_in_window"], admitted.load());
}

TEST(AdminApi, ApiQuotasSurviveARestart) {
    AdminSluice sluice;
    ASSERT_EQ(sluice.call("PUT", "/v1/sys/quotas/rate-limit/kept", R"({"path": "/k", "rate": 1, "interval": "1500ms"})")
                  .result_int(),
              204);
    ASSERT_EQ(sluice.call("POST", "/v1/sys/quotas/config", R"({"rate_limit_exempt_paths": ["/free"]})").result_int(),
              204);
    sluice.restart();
    const nlohmann::json data =
        nlohmann::json::parse(sluice.call("GET", "/v1/sys/quotas/rate-limit/kept").body())["data"];
    EXPECT_EQ(data["interval"], 1.5);
    EXPECT_EQ(data["defined_in"], "api");
    HttpClient proxy = sluice.proxy();
    EXPECT_EQ(proxy.get("/k").result_int(), 200);
    EXPECT_EQ(proxy.get("/k").result_int(), 429);
    EXPECT_EQ(
        nlohmann::json::parse(sluice.call("GET", "/v1/sys/quotas/config").body())["data"]["rate_limit_exempt_paths"],
        nlohmann::json::array({"/free"}));
}

TEST(AdminApi, QuotaSettingsApplyToTheProxyAtOnce) {
    AdminSluice sluice(kPerIpFileQuota);
    HttpClient proxy = sluice.proxy();
    EXPECT_EQ(header(proxy.get("/v1/a"), "RateLimit-Remaining"), "4");

    ASSERT_EQ(sluice
                  .call("POST", "/v1/sys/quotas/config",
                        R"({"enable_rate_limit_response_headers": false, "enable_rate_limit_audit_logging": true,)"
                        R"( "rate_limit_exempt_paths": ["/v1/health"]})")
                  .result_int(),
              204);
    const HttpResponse allowed = proxy.get("/v1/a");
    EXPECT_EQ(allowed.result_int(), 200);
    EXPECT_EQ(header(allowed, "RateLimit-Limit"), "");
    EXPECT_EQ(header(allowed, "RateLimit-Remaining"), "");
    for (int i = 0; i < 10; ++i) EXPECT_EQ(proxy.get("/v1/health").result_int(), 200) << "exempt, never counted";
    for (int i = 0; i < 3; ++i) EXPECT_EQ(proxy.get("/v1/a").result_int(), 200);
    const HttpResponse refused = proxy.get("/v1/a?secret=1");
    EXPECT_EQ(refused.result_int(), 429);
    EXPECT_NE(header(refused, "Retry-After"), "");
    EXPECT_EQ(header(refused, "RateLimit-Remaining"), "");

    ChildProcess& sluiced = sluice.deployment().sluiced();
    ASSERT_TRUE(sluiced.wait_for_stderr("sluiced: audit ", std::chrono::seconds(5)));
    const std::string expected =
        R"(sluiced: audit {"event":"refused","reason":"limited","quota":"per-ip","key":"client_ip","retry_after":)";
    const std::string log = sluiced.stderr_text();
    const std::size_t at = log.find(expected);
    ASSERT_NE(at, std::string::npos) << log;
    EXPECT_EQ(log.substr(log.find(',', at + expected.size()), log.find('\n', at) - log.find(',', at + expected.size())),
              R"(,"client_ip":"127.0.0.1","method":"GET","path":"/v1/a"})");
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n') - std::count(log.begin(), log.begin() + at, '\n'), 1)
        << "one line per refusal, and one refusal so far";
}

TEST(AdminApi, ABlockAddedThroughTheApiIsRefusedAtHttp) {
    AdminSluice sluice;
    ASSERT_EQ(sluice.call("PUT", "/v1/sys/blocks/127.0.0.2", R"({"duration": "10m"})").result_int(), 204);
    const HttpResponse blocked = HttpClient(sluice.deployment().port(), "127.0.0.2").get("/v1/a");
    EXPECT_EQ(blocked.result_int(), 429);
    EXPECT_EQ(blocked.body(), R"({"error":"blocked","message":"This client is blocked. Retry later."})");
    EXPECT_EQ(header(blocked, "Retry-After"), "600");
    EXPECT_EQ(sluice.proxy().get("/v1/a").result_int(), 200);  // 127.0.0.1 is not blocked
    ASSERT_EQ(sluice.call("DELETE", "/v1/sys/blocks/127.0.0.2").result_int(), 204);
    EXPECT_EQ(HttpClient(sluice.deployment().port(), "127.0.0.2").get("/v1/a").result_int(), 200);
}

TEST(AdminApi, AnAdminPortInUseStopsTheStartNamingIt) {
    AdminSluice first;
    nlohmann::json config = {{"admin", {{"listen", "127.0.0.1:" + std::to_string(first.admin_port())}}},
                             {"state_dir", "state"}};
    try {
        Deployment second(config);
        ADD_FAILURE() << "started with the admin port in use";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("sluiced: admin listen 127.0.0.1:" + std::to_string(first.admin_port()) +
                                        ": Address already in use"));
    }
}

// "q00042": sorted by name is sorted by number.
std::string numbered_quota(int number) {
    char name[32];
    std::snprintf(name, sizeof name, "q%05d", number);
    return name;
}

// Quotas are PUT one after the other while sluiced is killed at some moment
// after the first is acknowledged (counted from then, so a slow build, e.g.
// under ASan, still kills mid-stream): the restarted sluiced lists every
// acknowledged quota, and at most the one in flight besides, in order (the
// state file is never half-written).
TEST(AdminApi, KillNineWhileChangingNeverLeavesACorruptStateFile) {
    AdminSluice sluice;
    int next = 0;
    for (const auto kill_after :
         {std::chrono::milliseconds(30), std::chrono::milliseconds(150), std::chrono::milliseconds(400)}) {
        std::atomic<int> acknowledged = next;
        int attempted = next;
        std::thread writer([&] {
            HttpClient client = sluice.admin();
            for (;;) {
                const std::string name = numbered_quota(attempted++);
                const std::string body = R"({"path": "/k/)" + name + R"(", "rate": 1})";
                int status = 0;
                try {
                    status = client
                                 .request("PUT", "/v1/sys/quotas/rate-limit/" + name,
                                          {{"X-Vault-Token", sluice.token()}}, body)
                                 .result_int();
                } catch (const std::exception&) {
                    return;  // killed
                }
                if (status != 204) {
                    ADD_FAILURE() << name << ": " << status;
                    return;
                }
                ++acknowledged;
            }
        });
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (acknowledged == next && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        std::this_thread::sleep_for(kill_after);
        sluice.deployment().sluiced().send_signal(SIGKILL);
        writer.join();
        ASSERT_GT(acknowledged, next) << "no change was made before the kill";
        sluice.restart_killed();

        const HttpResponse listed = sluice.call("LIST", "/v1/sys/quotas/rate-limit");
        ASSERT_EQ(listed.result_int(), 200);
        const nlohmann::json keys = nlohmann::json::parse(listed.body())["data"]["keys"];
        ASSERT_GE(keys.size(), static_cast<std::size_t>(acknowledged.load()));
        ASSERT_LE(keys.size(), static_cast<std::size_t>(attempted));
        for (std::size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(keys[i], numbered_quota(static_cast<int>(i)));
        next = static_cast<int>(keys.size());
    }
}

}  // namespace
}  // namespace sluice::test
