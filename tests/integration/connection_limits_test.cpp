// limits.max_connections and limits.max_connections_per_ip over real
// sockets: a connection over a cap is closed as soon as it is accepted, other
// clients and the admin API go on, and /metrics counts the refusals.
#include "harness.h"

#include <csignal>

#include "proxy/connection_limits.h"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <deque>
#include <fstream>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

const std::string kRequestClosing = "GET /v1/things HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

// sluiced with `limits` and an admin API, for its /metrics.
class LimitedSluice {
public:
    explicit LimitedSluice(nlohmann::json limits) : admin_port_(free_port()) {
        deployment_ = std::make_unique<Deployment>(nlohmann::json{
            {"limits", std::move(limits)},
            {"admin", {{"listen", "127.0.0.1:" + std::to_string(admin_port_)}, {"token_file", token_file()}}},
            {"state_dir", (state_.path() / "state").string()}});
    }

    Deployment& deployment() { return *deployment_; }

    // A connection of `source_ip` kept open by a first request on it.
    void hold_connection(const std::string& source_ip) {
        HttpClient& client = held_.emplace_back(deployment_->port(), source_ip);
        EXPECT_EQ(client.get("/v1/things").result_int(), 200);
    }

    // The body of an admin API GET.
    std::string admin_get(const std::string& target) const {
        std::ifstream in(token_file());
        std::string token;
        std::getline(in, token);
        HttpClient admin(admin_port_);
        const HttpResponse response = admin.get(target, {{"X-Vault-Token", token}});
        EXPECT_EQ(response.result_int(), 200);
        return response.body();
    }

private:
    std::string token_file() const { return (state_.path() / "admin.token").string(); }

    testing::TempFolder state_;
    std::uint16_t admin_port_;
    std::unique_ptr<Deployment> deployment_;
    std::deque<HttpClient> held_;
};

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(ConnectionLimits, PerIpCapClosesTheNextConnectionOfThatClientAtOnce) {
    LimitedSluice sluice(nlohmann::json{{"max_connections_per_ip", 2}});
    sluice.hold_connection("127.0.0.1");
    sluice.hold_connection("127.0.0.1");

    const RawExchange over = raw_exchange(sluice.deployment().port(), "", 1s);
    EXPECT_TRUE(over.closed);
    EXPECT_EQ(over.received, "");
    const RawExchange other = raw_exchange(sluice.deployment().port(), kRequestClosing, 5s, "127.0.0.2");
    EXPECT_TRUE(other.received.starts_with("HTTP/1.1 200 OK\r\n")) << other.received;

    const std::string metrics = sluice.admin_get("/metrics");
    EXPECT_TRUE(has_line(metrics, "sluice_connections_refused_total{reason=\"per_ip\"} 1")) << metrics;
    EXPECT_TRUE(has_line(metrics, "sluice_connections_refused_total{reason=\"total\"} 0")) << metrics;
    // Refused connections are no requests: the two held ones and 127.0.0.2's.
    EXPECT_TRUE(has_line(metrics, "sluice_proxy_requests_total{result=\"forwarded\"} 3")) << metrics;
}

TEST(ConnectionLimits, TotalCapClosesEveryClientsNextConnectionAndTheAdminApiStillAnswers) {
    LimitedSluice sluice(nlohmann::json{{"max_connections", 2}});
    EXPECT_NE(sluice.deployment().sluiced().stderr_text().find(
                  "sluiced: at most 2 client connections (limits.max_connections), 256 per client\n"),
              std::string::npos)
        << sluice.deployment().sluiced().stderr_text();
    sluice.hold_connection("127.0.0.1");
    sluice.hold_connection("127.0.0.2");

    for (const char* source : {"127.0.0.3", "127.0.0.1"}) {
        const RawExchange over = raw_exchange(sluice.deployment().port(), "", 1s, source);
        EXPECT_TRUE(over.closed) << source;
        EXPECT_EQ(over.received, "") << source;
    }
    const std::string metrics = sluice.admin_get("/metrics");
    EXPECT_TRUE(has_line(metrics, "sluice_connections_refused_total{reason=\"total\"} 2")) << metrics;
    EXPECT_TRUE(has_line(metrics, "sluice_connections_refused_total{reason=\"per_ip\"} 0")) << metrics;
    EXPECT_TRUE(has_line(metrics, "sluice_connections 2")) << metrics;
    EXPECT_TRUE(has_line(metrics, "sluice_connections_limit 2")) << metrics;
}

TEST(ConnectionLimits, PerIpBlockIntervalPutsAClientOverItsCapOnTheBlockList) {
    LimitedSluice sluice(nlohmann::json{{"max_connections_per_ip", 1}, {"per_ip_block_interval", "10m"}});
    sluice.hold_connection("127.0.0.1");
    EXPECT_TRUE(raw_exchange(sluice.deployment().port(), "", 1s).closed);

    const nlohmann::json blocks = nlohmann::json::parse(sluice.admin_get("/v1/sys/blocks"))["data"]["blocks"];
    ASSERT_EQ(blocks.size(), 1u) << blocks;
    EXPECT_EQ(blocks[0]["client"], "127.0.0.1");
    EXPECT_EQ(blocks[0]["origin"], "connections");
    EXPECT_GT(blocks[0]["remaining_seconds"].get<double>(), 590);
    EXPECT_LE(blocks[0]["remaining_seconds"].get<double>(), 600);
}

TEST(ConnectionLimits, ATrustedProxyIsNotCappedPerClient) {
    Deployment sluice(
        nlohmann::json{{"trusted_proxies", {"127.0.0.1/32"}}, {"limits", {{"max_connections_per_ip", 1}}}});
    HttpClient proxy_a = sluice.client("127.0.0.1");
    HttpClient proxy_b = sluice.client("127.0.0.1");
    HttpClient client = sluice.client("127.0.0.2");
    for (HttpClient* held : {&proxy_a, &proxy_b, &client}) EXPECT_EQ(held->get("/v1/things").result_int(), 200);
    EXPECT_TRUE(raw_exchange(sluice.port(), "", 1s, "127.0.0.2").closed);
}

TEST(ConnectionLimits, ATrustedProxyAddedBySighupIsNotCappedPerClient) {
    const nlohmann::json capped = {{"limits", {{"max_connections_per_ip", 1}}}};
    Deployment sluice(capped);
    HttpClient proxy_a = sluice.client("127.0.0.1");
    EXPECT_EQ(proxy_a.get("/v1/things").result_int(), 200);
    EXPECT_TRUE(raw_exchange(sluice.port(), "", 1s, "127.0.0.1").closed) << "capped before the reload";

    nlohmann::json trusting = capped;
    trusting["trusted_proxies"] = {"127.0.0.1/32"};
    sluice.write_config(trusting);
    sluice.sluiced().send_signal(SIGHUP);
    ASSERT_TRUE(sluice.sluiced().wait_for_stderr("reloaded", 5s)) << sluice.sluiced().stderr_text();
    HttpClient proxy_b = sluice.client("127.0.0.1");
    EXPECT_EQ(proxy_b.get("/v1/things").result_int(), 200);
    EXPECT_FALSE(proxy_b.connection_closed());
}

TEST(ConnectionLimits, TheDefaultCapComesFromTheOpenFilesLimit) {
    Deployment sluice(nlohmann::json{{"threads", 1}, {"limits", {{"upstream_idle_connections", 8}}}});
    rlimit limit{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
    const std::string expected = "sluiced: at most " + std::to_string(default_max_connections(limit.rlim_max, 1, 8)) +
                                 " client connections (open files limit ";
    EXPECT_NE(sluice.sluiced().stderr_text().find(expected), std::string::npos) << sluice.sluiced().stderr_text();
}

}  // namespace
}  // namespace sluice::test
