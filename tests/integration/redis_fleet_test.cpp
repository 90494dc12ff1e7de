// Several sluiced sharing one Redis (README, "Fleet mode"), each a real
// process in front of one upstream: a quota counts once for the whole fleet,
// and a fleet whose Redis fails answers as store.on_error says.
#include "harness.h"
#include "redis_fleet_fixture.h"

#include "redis/blocking_client.h"
#include "redis/cluster_slots.h"
#include "sluiced/fleet_key.h"
#include "store/redis_quota_call.h"
#include "tests/support/redis_cluster.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace sluice::test {
namespace {

class RedisFleet : public RedisFleetTest {
protected:
    // A config for one host of the fleet: the same Redis and key file for all.
    nlohmann::json config(nlohmann::json quotas, std::string_view on_error = "local",
                          std::string_view timeout = "1s") const {
        return {{"listen", nlohmann::json::array()},
                {"upstream", ""},
                {"store",
                 {{"type", "redis"},
                  {"url", "redis://127.0.0.1:" + std::to_string(redis_->port())},
                  {"key_secret_file", (shared_ / "fleet.key").string()},
                  {"timeout", timeout},
                  {"on_error", on_error}}},
                {"quotas", std::move(quotas)}};
    }

    void start_hosts(int count, const nlohmann::json& host_config) {
        for (int i = 0; i < count; ++i) hosts_.push_back(std::make_unique<Deployment>(host_config, upstream_port_));
    }

    // Redis's keys, as `redis-cli KEYS *` lists them.
    std::vector<std::string> redis_keys() const {
        RedisBlockingClient client(redis_->endpoint(), "", 2s);
        const RedisReplyPtr reply = client.call({"KEYS", "*"}, 2s);
        std::vector<std::string> keys;
        for (std::size_t i = 0; i < reply->elements; ++i) keys.emplace_back(reply_text(*reply->element[i]));
        return keys;
    }

    std::vector<std::unique_ptr<Deployment>> hosts_;
};

const nlohmann::json kHourly = nlohmann::json::array(
    {{{"name", "hourly"}, {"path", "/v1/*"}, {"rate", 100}, {"interval", "1h"}, {"algorithm", "fixed_window"}}});

TEST_F(RedisFleet, ThreeHostsAdmitExactlyTheQuotaBetweenThem) {
    start_hosts(3, config(kHourly));
    std::vector<std::unique_ptr<HttpClient>> clients;
    for (const auto& host : hosts_) clients.push_back(std::make_unique<HttpClient>(host->port()));
    int admitted = 0, refused = 0;
    for (int i = 0; i < 1200; ++i) {
        const HttpResponse r = clients[i % 3]->get("/v1/items");
        if (r.result_int() == 200) ++admitted;
        if (r.result_int() == 429) ++refused;
    }
    EXPECT_EQ(admitted, 100);
    EXPECT_EQ(refused, 1100);

    // Any host reads the fleet's count, and tells the same remaining.
    const HttpResponse last = clients[1]->get("/v1/items");
    EXPECT_EQ(last.result_int(), 429);
    EXPECT_EQ(header(last, "RateLimit-Remaining"), "0");
    EXPECT_EQ(header(last, "RateLimit-Limit"), "100");
}

TEST_F(RedisFleet, ThreeHostsDrivenAtFourTimesTheRateAdmitTheBurstAndTheRate) {
    // GCRA 50/s with a burst of 10, 3 x 200 requests a second for 10 s:
    // 10 + 50 * 10 = 510 admitted.
    start_hosts(3, config(nlohmann::json::array({{{"name", "gcra"},
                                                  {"path", "/v1/*"},
                                                  {"rate", 50},
                                                  {"burst", 10},
                                                  {"interval", "1s"},
                                                  {"algorithm", "token_bucket"}}})));
    std::atomic<int> admitted{0}, failed{0};
    const auto start = std::chrono::steady_clock::now() + 100ms;
    const auto end = start + 10s;
    std::vector<std::thread> drivers;
    for (const auto& host : hosts_) {
        drivers.emplace_back([&, port = host->port()] {
            HttpClient client(port);
            for (auto at = start; at < end; at += 5ms) {  // 200 a second
                std::this_thread::sleep_until(at);
                const int status = client.get("/v1/items").result_int();
                if (status == 200) ++admitted;
                if (status != 200 && status != 429) ++failed;
            }
        });
    }
    for (std::thread& t : drivers) t.join();
    RecordProperty("admitted", admitted.load());
    EXPECT_EQ(failed.load(), 0);
    EXPECT_NEAR(admitted.load(), 510, 5.1) << "within 1%";
}

TEST_F(RedisFleet, EveryKeyExpiresAndTheFleetKeyFileIsSharedNotStored) {
    start_hosts(2, config(kHourly));
    ASSERT_EQ(hosts_[0]->client().get("/v1/items").result_int(), 200);
    ASSERT_EQ(hosts_[1]->client("127.0.0.2").get("/v1/items").result_int(), 200);
    // The fleet's shared state (blocks, API quotas, heartbeats) is bounded
    // in size rather than by time; it is tested in fleet_sync_test.cpp.
    std::vector<std::string> keys = redis_keys();
    std::vector<std::string> shared_state;
    std::erase_if(keys, [&](const std::string& key) {
        if (key.find("{fleet}") == std::string::npos) return false;
        shared_state.push_back(key);
        return true;
    });
    std::sort(shared_state.begin(), shared_state.end());
    EXPECT_EQ(shared_state,
              (std::vector<std::string>{"sluice:{fleet}events", "sluice:{fleet}node-heartbeats", "sluice:{fleet}nodes",
                                        "sluice:{fleet}seq", "sluice:{fleet}settings"}));
    ASSERT_EQ(keys.size(), 3u) << "two clients' counters and the fleet key's fingerprint";
    RedisBlockingClient client(redis_->endpoint(), "", 2s);
    const std::string secret = sluice::testing::TempFolder::read(shared_ / "fleet.key");
    for (const std::string& key : keys) {
        EXPECT_GE(client.call({"PTTL", key}, 2s)->integer, 0) << key << " has no expiry";
        const RedisReplyPtr value = client.call({"GET", key}, 2s);
        EXPECT_THAT(std::string(reply_text(*value)), ::testing::Not(HasSubstr(secret.substr(0, 16))));
    }
    EXPECT_THAT(hosts_[0]->sluiced().stderr_text(),
                HasSubstr("created the fleet key " + (shared_ / "fleet.key").string()));
}

TEST_F(RedisFleet, AnyHostsAdminApiReadsTheFleetsCountAndSaysWhenRedisIsDown) {
    start_hosts(1, config(kHourly));
    for (int i = 0; i < 7; ++i) ASSERT_EQ(hosts_[0]->client().get("/v1/items").result_int(), 200);
    nlohmann::json with_admin = config(kHourly);
    const std::uint16_t admin_port = free_port();
    with_admin["admin"] = {{"listen", "127.0.0.1:" + std::to_string(admin_port)}};
    with_admin["state_dir"] = (shared_ / "state").string();
    hosts_.push_back(std::make_unique<Deployment>(with_admin, upstream_port_));
    const std::string token = sluice::testing::TempFolder::read(shared_ / "state" / "admin.token");
    const auto usage = [&] {
        return HttpClient(admin_port)
            .get("/v1/sys/quotas/rate-limit/hourly/usage?key=127.0.0.1",
                 {{"X-Vault-Token", token.substr(0, token.find('\n'))}});
    };
    const HttpResponse counted = usage();
    ASSERT_EQ(counted.result_int(), 200) << counted.body();
    EXPECT_EQ(nlohmann::json::parse(counted.body())["current_usage"]["requests_in_window"], 7)
        << "counted by the other host";

    redis_->kill(SIGKILL);
    const HttpResponse down = usage();
    EXPECT_EQ(down.result_int(), 503);
    EXPECT_THAT(down.body(), HasSubstr("the quota store is unavailable: "));
}

TEST_F(RedisFleet, AHostWithAnotherFleetKeyRefusesToStart) {
    start_hosts(1, config(kHourly));
    sluice::testing::TempFolder other;
    nlohmann::json stranger = config(kHourly);
    stranger["store"]["key_secret_file"] = (other / "fleet.key").string();
    stranger["listen"] = {"127.0.0.1:" + std::to_string(free_port())};
    stranger["upstream"] = "http://127.0.0.1:" + std::to_string(upstream_port_);
    ChildProcess sluiced(SLUICED_BINARY, {"--config", other.write("sluiced.json", stranger.dump()).string()});
    EXPECT_EQ(sluiced.wait_exit(10s), 1);
    EXPECT_THAT(sluiced.stderr_text(), HasSubstr("is not the fleet's"));
    EXPECT_THAT(sluiced.stderr_text(), HasSubstr("copy the fleet's key file to this host"));
}

// What the clients of a fleet get while its Redis is down, by on_error.
struct OnErrorCase {
    std::string_view on_error;
    int status;                    // while Redis is down
    bool counted_locally;          // the host's own store counts, from a fresh count
    std::string_view retry_after;  // Retry-After then

    friend void PrintTo(const OnErrorCase& c, std::ostream* out) { *out << "on_error " << c.on_error; }
};

class RedisFleetDown : public RedisFleet, public ::testing::WithParamInterface<OnErrorCase> {};

TEST_P(RedisFleetDown, AnswersAsOnErrorSaysWithinTheTimeoutAndRecoversWithoutARestart) {
    const OnErrorCase& expected = GetParam();
    start_hosts(1, config(kHourly, expected.on_error, "50ms"));
    HttpClient client = hosts_[0]->client();
    ASSERT_EQ(header(client.get("/v1/items"), "RateLimit-Remaining"), "99");

    redis_->kill(SIGKILL);
    for (int i = 0; i < 10; ++i) {
        const auto sent = std::chrono::steady_clock::now();
        const HttpResponse r = client.get("/v1/items");
        // Only catches a request that hangs on Redis: the store's deadline is 50 ms.
        EXPECT_LT(std::chrono::steady_clock::now() - sent, 2s);
        EXPECT_EQ(r.result_int(), expected.status) << "request " << i;
        EXPECT_EQ(header(r, "RateLimit-Remaining"), expected.counted_locally ? std::to_string(99 - i) : "")
            << "request " << i;
        EXPECT_EQ(header(r, "Retry-After"), expected.retry_after) << "request " << i;
    }
    EXPECT_TRUE(hosts_[0]->sluiced().wait_for_stderr("failed 5 times in a row", 5s)) << "the circuit breaker opened";

    redis_->restart();  // empty: nothing was saved
    // A request a second at most is the breaker's probe; the first that gets
    // through closes it, and counts in the (new, empty) Redis.
    std::string remaining;
    for (int i = 0; i < 50 && remaining != "99"; ++i) {
        remaining = header(client.get("/v1/items"), "RateLimit-Remaining");
        if (remaining != "99") std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(remaining, "99") << "counted in Redis again, without a restart of sluiced";
    EXPECT_EQ(header(client.get("/v1/items"), "RateLimit-Remaining"), "98");
    EXPECT_TRUE(hosts_[0]->sluiced().wait_for_stderr("answers again", 5s)) << "the breaker closed after a probe";
}

INSTANTIATE_TEST_SUITE_P(OnError, RedisFleetDown,
                         ::testing::Values(OnErrorCase{"local", 200, true, ""}, OnErrorCase{"open", 200, false, ""},
                                           OnErrorCase{"closed", 503, false, "1"}),
                         [](const auto& info) { return std::string(info.param.on_error); });

TEST_F(RedisFleet, ABlackholedRedisCostsEachRequestAtMostTheTimeout) {
    start_hosts(1, config(kHourly, "closed", "50ms"));
    HttpClient client = hosts_[0]->client();
    ASSERT_EQ(client.get("/v1/items").result_int(), 200);
    redis_->kill(SIGSTOP);
    for (int i = 0; i < 8; ++i) {
        const auto sent = std::chrono::steady_clock::now();
        EXPECT_EQ(client.get("/v1/items").result_int(), 503);
        EXPECT_LT(std::chrono::steady_clock::now() - sent, 2s);
    }
    redis_->kill(SIGCONT);
    bool back = false;
    for (int i = 0; i < 30 && !back; ++i) {
        back = client.get("/v1/items").result_int() == 200;
        if (!back) std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(back) << "Redis answers again after SIGCONT, without a restart";
}

TEST_F(RedisFleet, AFlushedScriptCacheCostsNoRequest) {
    start_hosts(2, config(kHourly, "closed"));
    RedisBlockingClient admin(redis_->endpoint(), "", 2s);
    int admitted = 0;
    for (int i = 0; i < 120; ++i) {
        if (i % 10 == 0) {
            ASSERT_FALSE(is_error(*admin.call({"SCRIPT", "FLUSH"}, 2s)));
        }
        const int status = hosts_[i % 2]->client().get("/v1/items").result_int();
        ASSERT_TRUE(status == 200 || status == 429) << "request " << i << ": " << status;
        admitted += status == 200;
    }
    EXPECT_EQ(admitted, 100);
}

// sluiced on a 3-node Redis Cluster while the slot of its client's keys
// moves to another node under load, as `redis-cli --cluster reshard` moves it.
TEST(RedisClusterFleet, AReshardUnderLoadFailsNoRequestAndCountsEachOnce) {
    if (sluice::testing::redis_server_program().empty()) GTEST_SKIP() << sluice::testing::kRedisServerMissing;
    sluice::testing::RedisCluster cluster(3);
    sluice::testing::TempFolder shared;
    const std::uint16_t upstream_port = free_port();
    const std::unique_ptr<ChildProcess> upstream = start_demo_upstream(upstream_port);
    nlohmann::json seeds = nlohmann::json::array();
    for (std::uint16_t port : cluster.ports()) seeds.push_back("127.0.0.1:" + std::to_string(port));
    const nlohmann::json config = {{"store",
                                    {{"type", "redis"},
                                     {"cluster", seeds},
                                     {"key_secret_file", (shared / "fleet.key").string()},
                                     {"timeout", "1s"},
                                     {"on_error", "closed"}}},
                                   {"quotas", nlohmann::json::array({{{"name", "big"},
                                                                      {"path", "/v1/*"},
                                                                      {"rate", 1000000},
                                                                      {"interval", "1h"},
                                                                      {"algorithm", "fixed_window"}}})}};
    Deployment host(config, upstream_port);

    // The slot the client's keys are in: the fleet key hashes its identity.
    const std::uint64_t identity = load_fleet_key(shared / "fleet.key").hasher("127.0.0.1");
    const std::uint16_t slot = state_key_slot(identity);
    const std::size_t from = slot * 3 / kClusterSlots, to = (from + 1) % 3;
    const auto call = [&](std::size_t node, std::initializer_list<std::string_view> command) {
        RedisReplyPtr reply = sluice::testing::redis_call(cluster.ports()[node], command);
        EXPECT_FALSE(is_error(*reply)) << *command.begin() << ": " << reply_text(*reply);
        return reply;
    };
    const std::string from_id(reply_text(*call(from, {"CLUSTER", "MYID"})));
    const std::string to_id(reply_text(*call(to, {"CLUSTER", "MYID"})));

    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, other{0};
    std::vector<std::thread> load;
    for (int t = 0; t < 3; ++t) {
        load.emplace_back([&] {
            HttpClient client(host.port());
            while (!stop) (client.get("/v1/items").result_int() == 200 ? ok : other)++;
        });
    }
    std::this_thread::sleep_for(300ms);
    const std::string slot_text = std::to_string(slot);
    call(to, {"CLUSTER", "SETSLOT", slot_text, "IMPORTING", from_id});
    call(from, {"CLUSTER", "SETSLOT", slot_text, "MIGRATING", to_id});
    std::this_thread::sleep_for(200ms);
    const RedisReplyPtr keys = call(from, {"CLUSTER", "GETKEYSINSLOT", slot_text, "100"});
    for (std::size_t i = 0; i < keys->elements; ++i)
        call(from,
             {"MIGRATE", "127.0.0.1", std::to_string(cluster.ports()[to]), reply_text(*keys->element[i]), "0", "5000"});
    std::this_thread::sleep_for(200ms);
    for (std::size_t node = 0; node < 3; ++node) call(node, {"CLUSTER", "SETSLOT", slot_text, "NODE", to_id});
    std::this_thread::sleep_for(300ms);
    stop = true;
    for (std::thread& t : load) t.join();

    EXPECT_EQ(other.load(), 0) << "requests answered otherwise than 200 during the reshard";
    EXPECT_GT(ok.load(), 100);
    const HttpResponse last = host.client().get("/v1/items");
    EXPECT_EQ(header(last, "RateLimit-Remaining"), std::to_string(1000000 - ok.load() - 1))
        << "every request counted once, across the move";
    EXPECT_EQ(call(to, {"CLUSTER", "COUNTKEYSINSLOT", slot_text})->integer, 1) << "the client's key moved";
}

}  // namespace
}  // namespace sluice::test
