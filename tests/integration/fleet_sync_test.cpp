// Blocks and API quotas shared by a fleet (README, "Fleet mode"): real
// sluiced processes on one real redis-server, each with its own admin API
// and state_dir, as hosts of a fleet have. The kernel side (XDP maps on
// every host) is tested in tests/netns/fleet_end_to_end_test.cpp.
#include "harness.h"
#include "redis_fleet_fixture.h"

#include "tests/support/redis_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <thread>

using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace sluice::test {
namespace {

// The bound README states for a change to reach every host.
constexpr auto kPropagation = 1s;

// Whether `holds` became true within `timeout`.
bool within(std::chrono::milliseconds timeout, const std::function<bool()>& holds) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (holds()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
}

const nlohmann::json kFileQuotas = nlohmann::json::array(
    {{{"name", "per-ip"}, {"path", "/v1/*"}, {"key", "client_ip"}, {"rate", 1000}, {"interval", "1s"}}});

// One host of the fleet: sluiced, its admin API and token.
struct Host {
    std::string name;
    std::uint16_t admin_port = free_port();
    std::unique_ptr<Deployment> deployment;
    std::string token;

    HttpResponse admin(const std::string& method, const std::string& target, const std::string& body = "") const {
        return HttpClient(admin_port).request(method, target, {{"X-Vault-Token", token}}, body);
    }
    HttpResponse get(const std::string& target) const { return admin("GET", target); }
    nlohmann::json blocks() const { return nlohmann::json::parse(get("/v1/sys/blocks").body())["data"]["blocks"]; }
    bool lists_block_of(const std::string& client) const {
        for (const nlohmann::json& block : blocks())
            if (block["client"] == client) return true;
        return false;
    }
};

class FleetSync : public RedisFleetTest {
protected:
    nlohmann::json config(const Host& host, const nlohmann::json& quotas = kFileQuotas) const {
        return {{"listen", nlohmann::json::array()},
                {"upstream", ""},
                {"admin", {{"listen", "127.0.0.1:" + std::to_string(host.admin_port)}}},
                {"state_dir", (shared_ / host.name).string()},
                {"store",
                 {{"type", "redis"},
                  {"url", "redis://127.0.0.1:" + std::to_string(redis_->port())},
                  {"key_secret_file", (shared_ / "fleet.key").string()},
                  {"timeout", "100ms"},
                  {"node", host.name}}},
                {"quotas", quotas}};
    }

    Host& start_host(const std::string& name) {
        Host& host = *hosts_.emplace_back(std::make_unique<Host>());
        host.name = name;
        start(host);
        return host;
    }
    void start(Host& host) {
        host.deployment = std::make_unique<Deployment>(config(host), upstream_port_);
        const std::string token = sluice::testing::TempFolder::read(shared_ / host.name / "admin.token");
        host.token = token.substr(0, token.find('\n'));
    }

    std::vector<std::unique_ptr<Host>> hosts_;
};

TEST_F(FleetSync, AnApiBlockOnOneHostRefusesTheClientAtEveryHostAndADeleteAnywhereLiftsIt) {
    Host& a = start_host("host-a");
    Host& b = start_host("host-b");
    Host& c = start_host("host-c");
    ASSERT_EQ(a.admin("PUT", "/v1/sys/blocks/127.0.0.7", R"({"duration": "60s"})").result_int(), 204);
    for (Host* host : {&b, &c}) {
        EXPECT_TRUE(within(kPropagation, [&] { return host->lists_block_of("127.0.0.7"); })) << host->name;
        EXPECT_EQ(host->deployment->client("127.0.0.7").get("/v1/items").result_int(), 429) << host->name;
        EXPECT_EQ(host->deployment->client("127.0.0.8").get("/v1/items").result_int(), 200) << host->name;
    }
    EXPECT_EQ(b.blocks()[0]["origin"], "api");
    ASSERT_EQ(c.admin("DELETE", "/v1/sys/blocks/127.0.0.7").result_int(), 204);
    for (Host* host : {&a, &b}) {
        EXPECT_TRUE(within(kPropagation, [&] { return !host->lists_block_of("127.0.0.7"); })) << host->name;
        EXPECT_EQ(host->deployment->client("127.0.0.7").get("/v1/items").result_int(), 200) << host->name;
    }
}

TEST_F(FleetSync, AQuotasBlockIntervalOnOneHostBlocksTheClientEverywhere) {
    Host& a = start_host("host-a");
    Host& b = start_host("host-b");
    ASSERT_EQ(a.admin("POST", "/v1/sys/quotas/rate-limit/strict",
                      R"({"path": "/v1/strict", "rate": 2, "interval": "1h", "block_interval": "5m"})")
                  .result_int(),
              204);
    ASSERT_TRUE(within(kPropagation, [&] { return b.get("/v1/sys/quotas/rate-limit/strict").result_int() == 200; }));
    for (int i = 0; i < 2; ++i) ASSERT_EQ(a.deployment->client("127.0.0.9").get("/v1/strict").result_int(), 200);
    ASSERT_EQ(a.deployment->client("127.0.0.9").get("/v1/strict").result_int(), 429);
    ASSERT_TRUE(within(kPropagation, [&] { return b.lists_block_of("127.0.0.9"); }));
    EXPECT_EQ(b.blocks()[0]["origin"], "quota:strict");
    EXPECT_EQ(b.deployment->client("127.0.0.9").get("/v1/strict").result_int(), 429);
}

TEST_F(FleetSync, AQuotaMadeOnOneHostRefusesOnAnotherAndADeleteThereRemovesItEverywhere) {
    Host& a = start_host("host-a");
    Host& b = start_host("host-b");
    ASSERT_EQ(
        a.admin("POST", "/v1/sys/quotas/rate-limit/shared", R"({"path": "/v1/shared", "rate": 3, "interval": "1h"})")
            .result_int(),
        204);
    ASSERT_TRUE(within(kPropagation, [&] { return b.get("/v1/sys/quotas/rate-limit/shared").result_int() == 200; }));
    const nlohmann::json listed = nlohmann::json::parse(b.get("/v1/sys/quotas/rate-limit?list=true").body());
    EXPECT_EQ(listed["data"]["keys"], nlohmann::json({"per-ip", "shared"}));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(b.deployment->client().get("/v1/shared").result_int(), 200);
    EXPECT_EQ(b.deployment->client().get("/v1/shared").result_int(), 429);

    ASSERT_EQ(b.admin("DELETE", "/v1/sys/quotas/rate-limit/shared").result_int(), 204);
    EXPECT_TRUE(within(kPropagation, [&] { return a.get("/v1/sys/quotas/rate-limit/shared").result_int() == 404; }));
    EXPECT_EQ(a.deployment->client().get("/v1/shared").result_int(), 200);
}

TEST_F(FleetSync, FileQuotasStayTheirHostsAndNamesAreCheckedAcrossTheFleet) {
    Host& a = start_host("host-a");
    Host& b = start_host("host-b");
    // B's file quota: no host's API may take its name.
    const HttpResponse taken = a.admin("POST", "/v1/sys/quotas/rate-limit/per-ip", R"({"rate": 1})");
    EXPECT_EQ(taken.result_int(), 400);
    EXPECT_THAT(taken.body(), HasSubstr("is defined in"));
    nlohmann::json only_on_b =
        config(b, nlohmann::json::array(
                      {kFileQuotas[0], {{"name", "b-only"}, {"path", "/v1/b"}, {"rate", 1}, {"interval", "1h"}}}));
    b.deployment->write_config(only_on_b);
    b.deployment->sluiced().send_signal(SIGHUP);
    ASSERT_TRUE(within(5s, [&] { return b.get("/v1/sys/quotas/rate-limit/b-only").result_int() == 200; }));
    std::this_thread::sleep_for(kPropagation);  // B's heartbeat names its file quotas
    const HttpResponse refused = a.admin("POST", "/v1/sys/quotas/rate-limit/b-only", R"({"rate": 1})");
    EXPECT_EQ(refused.result_int(), 400);
    EXPECT_EQ(nlohmann::json::parse(refused.body())["errors"][0],
              R"(quota "b-only" is defined in )" + b.deployment->dir().path().string() +
                  "/sluiced.json on host host-b: change it there and reload (SIGHUP)");
    EXPECT_EQ(a.get("/v1/sys/quotas/rate-limit/b-only").result_int(), 404) << "a file quota stays its host's";

    // A name the API made may not be taken by a file on any host.
    ASSERT_EQ(a.admin("POST", "/v1/sys/quotas/rate-limit/api-made", R"({"path": "/v1/api", "rate": 1})").result_int(),
              204);
    ASSERT_TRUE(within(kPropagation, [&] { return b.get("/v1/sys/quotas/rate-limit/api-made").result_int() == 200; }));
    nlohmann::json clash = config(
        b, nlohmann::json::array(
               {kFileQuotas[0], {{"name", "api-made"}, {"path", "/v1/other"}, {"rate", 5}, {"interval", "1h"}}}));
    b.deployment->write_config(clash);
    b.deployment->sluiced().send_signal(SIGHUP);
    EXPECT_TRUE(within(5s, [&] {
        return b.deployment->sluiced().stderr_text().find("has the name of a quota made through the admin API") !=
               std::string::npos;
    })) << b.deployment->sluiced().stderr_text();
    EXPECT_EQ(nlohmann::json::parse(b.get("/v1/sys/quotas/rate-limit/api-made").body())["data"]["path"], "/v1/api");
}

TEST_F(FleetSync, WhileRedisIsDownQuotaWritesAre503ReadsAnswerAndBlocksWaitToBeSent) {
    Host& a = start_host("host-a");
    Host& b = start_host("host-b");
    ASSERT_EQ(a.admin("POST", "/v1/sys/quotas/rate-limit/kept", R"({"path": "/v1/kept", "rate": 1})").result_int(),
              204);
    ASSERT_TRUE(within(kPropagation, [&] { return b.get("/v1/sys/quotas/rate-limit/kept").result_int() == 200; }));

    redis_->kill(SIGSTOP);
    const HttpResponse refused = b.admin("POST", "/v1/sys/quotas/rate-limit/new", R"({"rate": 1})");
    EXPECT_EQ(refused.result_int(), 503);
    EXPECT_THAT(refused.body(), HasSubstr("the fleet's Redis does not answer ("));
    EXPECT_THAT(refused.body(), HasSubstr("the change is not applied"));
    EXPECT_EQ(b.get("/v1/sys/quotas/rate-limit/new").result_int(), 404);
    EXPECT_EQ(b.get("/v1/sys/quotas/rate-limit/kept").result_int(), 200) << "reads answer from the last synced state";
    // A block made meanwhile is enforced here at once, and reaches A later.
    ASSERT_EQ(b.admin("PUT", "/v1/sys/blocks/127.0.0.7", R"({"duration": "60s"})").result_int(), 204);
    EXPECT_EQ(b.deployment->client("127.0.0.7").get("/v1/items").result_int(), 429);
    std::this_thread::sleep_for(500ms);
    EXPECT_FALSE(a.lists_block_of("127.0.0.7"));

    redis_->kill(SIGCONT);
    EXPECT_TRUE(within(2 * kPropagation, [&] { return a.lists_block_of("127.0.0.7"); }));
    EXPECT_EQ(a.deployment->client("127.0.0.7").get("/v1/items").result_int(), 429);
}

TEST_F(FleetSync, AHostRestartedWhileRedisIsDownStartsFromStateDirAndCatchesUp) {
    Host& a = start_host("host-a");
    Host& b = start_host("host-b");
    ASSERT_EQ(a.admin("POST", "/v1/sys/quotas/rate-limit/kept", R"({"path": "/v1/kept", "rate": 1})").result_int(),
              204);
    ASSERT_EQ(a.admin("PUT", "/v1/sys/blocks/127.0.0.5", R"({"duration": "60s"})").result_int(), 204);
    ASSERT_TRUE(within(kPropagation, [&] { return b.lists_block_of("127.0.0.5"); }));
    ASSERT_EQ(b.deployment->stop_sluiced(), 0);

    redis_->kill(SIGSTOP);
    start(b);  // on_error "local": it serves while Redis is away
    EXPECT_EQ(b.get("/v1/sys/quotas/rate-limit/kept").result_int(), 200);
    EXPECT_TRUE(b.lists_block_of("127.0.0.5"));
    // Made here during the outage; and lifted on A (when Redis is back) without B seeing the stream.
    ASSERT_EQ(b.admin("PUT", "/v1/sys/blocks/127.0.0.6", R"({"duration": "60s"})").result_int(), 204);

    redis_->kill(SIGCONT);
    EXPECT_TRUE(within(2 * kPropagation, [&] { return a.lists_block_of("127.0.0.6"); }));
    ASSERT_EQ(a.admin("DELETE", "/v1/sys/blocks/127.0.0.5").result_int(), 204);
    EXPECT_TRUE(within(kPropagation, [&] { return !b.lists_block_of("127.0.0.5"); }));
    EXPECT_TRUE(b.lists_block_of("127.0.0.6"));
}

TEST_F(FleetSync, EveryHostListsTheLiveHostsAndItsSyncState) {
    Host& a = start_host("host-a");
    Host& b = start_host("host-b");
    const auto names = [&] {
        std::vector<std::string> listed;
        const nlohmann::json answer = nlohmann::json::parse(a.get("/v1/sys/nodes").body());
        for (const nlohmann::json& node : answer["data"]["nodes"]) listed.push_back(node["name"]);
        return listed;
    };
    // Within a heartbeat (2 s) of B's start.
    ASSERT_TRUE(within(3s, [&] {
        return names() == std::vector<std::string>{"host-a", "host-b"};
    })) << a.get("/v1/sys/nodes").body();
    const nlohmann::json data = nlohmann::json::parse(a.get("/v1/sys/nodes").body())["data"];
    EXPECT_EQ(data["sync"]["state"], "in_sync");
    const nlohmann::json& node_b = data["nodes"][1];
    EXPECT_EQ(node_b["addresses"], nlohmann::json({"127.0.0.1:" + std::to_string(b.deployment->port())}));
    EXPECT_EQ(node_b["file_quotas"],
              nlohmann::json({{"per-ip", (b.deployment->dir().path() / "sluiced.json").string()}}));
    EXPECT_EQ(node_b["quotas"], nlohmann::json({"per-ip"}));
    EXPECT_EQ(node_b["xdp"], nlohmann::json::array());
    EXPECT_THAT(a.get("/metrics").body(), HasSubstr("sluice_fleet_sync_state{state=\"in_sync\"} 1\n"));

    // A host that stops leaves the list at once (the others' next heartbeat).
    ASSERT_EQ(b.deployment->stop_sluiced(), 0);
    EXPECT_TRUE(within(3s, [&] { return names() == std::vector<std::string>{"host-a"}; }));

    redis_->kill(SIGSTOP);
    EXPECT_TRUE(within(4s, [&] {
        return nlohmann::json::parse(a.get("/v1/sys/nodes").body())["data"]["sync"]["state"] == "disconnected";
    }));
    redis_->kill(SIGCONT);
    EXPECT_TRUE(within(5s, [&] {
        return nlohmann::json::parse(a.get("/v1/sys/nodes").body())["data"]["sync"]["state"] == "in_sync";
    }));
}

}  // namespace
}  // namespace sluice::test
