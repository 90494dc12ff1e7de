// The fleet script against a real redis-server: numbered changes in the
// stream, the live sets a snapshot reads, and the checks it makes.
#include "fleet/fleet_redis.h"

#include "tests/support/error_of.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/redis_server.h"

#include <gtest/gtest.h>

#include <chrono>

namespace sluice {
namespace {

using namespace std::chrono_literals;

std::int64_t unix_ns_from_now(std::chrono::seconds s) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               (std::chrono::system_clock::now() + s).time_since_epoch())
        .count();
}

std::string describe(const FleetEvent& e) {
    switch (e.kind) {
    case FleetEvent::Kind::block: return std::to_string(e.seq) + " block " + e.block.client + " " + e.block.origin;
    case FleetEvent::Kind::unblock: return std::to_string(e.seq) + " unblock " + e.block.client;
    case FleetEvent::Kind::quota: return std::to_string(e.seq) + " quota " + e.name + " " + e.json;
    case FleetEvent::Kind::settings: return std::to_string(e.seq) + " settings " + e.json;
    case FleetEvent::Kind::reset: return std::to_string(e.seq) + " reset";
    }
    return "?";
}

class FleetRedisTest : public testing::RedisServerTest {
protected:
    void SetUp() override {
        RedisServerTest::SetUp();
        if (IsSkipped()) return;
        server_ = std::make_unique<testing::RedisServer>();
        RedisStoreSettings settings;
        settings.endpoint = server_->endpoint();
        redis_ = std::make_unique<FleetRedis>(settings);
    }
    std::vector<std::string> events_after(const std::string& id) {
        std::vector<std::string> out;
        for (const FleetEvent& e : redis_->read_events(id, 10ms)) out.push_back(describe(e));
        return out;
    }

    std::unique_ptr<testing::RedisServer> server_;
    std::unique_ptr<FleetRedis> redis_;
};

TEST_F(FleetRedisTest, EveryChangeIsNumberedInTheStreamInOrder) {
    const std::int64_t expiry = unix_ns_from_now(60s);
    EXPECT_EQ(redis_->block({"203.0.113.7", expiry, "api"}), 1u);
    EXPECT_EQ(redis_->put_quota("q", R"({"name":"q"})", "host-a"), 2u);
    EXPECT_EQ(redis_->unblock("203.0.113.7"), 3u);
    EXPECT_EQ(redis_->set_settings(R"({"x":1})"), 4u);
    EXPECT_EQ(redis_->put_quota("q", "", "host-a"), 5u);
    EXPECT_EQ(events_after("0-0"),
              (std::vector<std::string>{"1 block 203.0.113.7 api", R"(2 quota q {"name":"q"})", "3 unblock 203.0.113.7",
                                        R"(4 settings {"x":1})", "5 quota q "}));
    const FleetSnapshot snapshot = redis_->snapshot();
    EXPECT_EQ(snapshot.seq, 5u);
    EXPECT_TRUE(snapshot.blocks.empty());
    EXPECT_TRUE(snapshot.quotas.empty());
    EXPECT_EQ(snapshot.settings, R"({"x":1})");
    EXPECT_TRUE(events_after(snapshot.stream_id).empty());  // the snapshot's id is the stream's last
}

TEST_F(FleetRedisTest, AShorterOrExpiredBlockChangesNothing) {
    const std::int64_t expiry = unix_ns_from_now(60s);
    EXPECT_EQ(redis_->block({"203.0.113.7", expiry, "quota:per-ip"}), 1u);
    EXPECT_EQ(redis_->block({"203.0.113.7", expiry - 1'000'000'000, "api"}), 0u);
    EXPECT_EQ(redis_->block({"198.51.100.1", unix_ns_from_now(-1s), "api"}), 0u);
    EXPECT_EQ(redis_->block({"203.0.113.7", expiry + 1'000'000'000, "api"}), 2u);
    EXPECT_EQ(redis_->snapshot().blocks, (std::vector<FleetBlock>{{"203.0.113.7", expiry + 1'000'000'000, "api"}}));
}

TEST_F(FleetRedisTest, ASnapshotLeavesExpiredBlocksOut) {
    redis_->block({"203.0.113.7", unix_ns_from_now(60s), "api"});
    // As if written a minute ago with a 1 s block.
    testing::redis_call(server_->port(), {"HSET", "sluice:{fleet}blocks", "198.51.100.1", "1000000000 api"});
    testing::redis_call(server_->port(), {"ZADD", "sluice:{fleet}block-expiries", "1000", "198.51.100.1"});
    const FleetSnapshot snapshot = redis_->snapshot();
    ASSERT_EQ(snapshot.blocks.size(), 1u);
    EXPECT_EQ(snapshot.blocks[0].client, "203.0.113.7");
}

TEST_F(FleetRedisTest, TheFirstHostSeedsTheFleetAndNoOtherDoes) {
    const std::int64_t expiry = unix_ns_from_now(60s);
    EXPECT_TRUE(redis_->seed(R"({"s":1})", {{"q1", R"({"name":"q1"})"}}, {{"203.0.113.7", expiry, "api"}}));
    EXPECT_FALSE(redis_->seed(R"({"s":2})", {{"q2", R"({"name":"q2"})"}}, {}));
    const FleetSnapshot snapshot = redis_->snapshot();
    EXPECT_EQ(snapshot.settings, R"({"s":1})");
    EXPECT_EQ(snapshot.quotas, (std::map<std::string, std::string>{{"q1", R"({"name":"q1"})"}}));
    EXPECT_EQ(snapshot.blocks, (std::vector<FleetBlock>{{"203.0.113.7", expiry, "api"}}));
    EXPECT_EQ(events_after("0-0"), (std::vector<std::string>{"1 block 203.0.113.7 api", "2 reset"}));
}

TEST_F(FleetRedisTest, AnApiQuotaMayNotTakeTheNameOfAnotherLiveHostsFileQuota) {
    redis_->heartbeat("host-b", R"({"file_quotas":{"per-ip":"/etc/sluice/quotas.d/b.json"}})");
    EXPECT_EQ(
        testing::error_of([&] { redis_->put_quota("per-ip", R"({"name":"per-ip"})", "host-a"); }),
        R"(quota "per-ip" is defined in /etc/sluice/quotas.d/b.json on host host-b: change it there and reload (SIGHUP))");
    // The writer's own files are its to check; deleting is always allowed.
    EXPECT_EQ(redis_->put_quota("per-ip", R"({"name":"per-ip"})", "host-b"), 1u);
    EXPECT_EQ(redis_->put_quota("per-ip", "", "host-a"), 2u);
}

TEST_F(FleetRedisTest, HeartbeatsListLiveHostsAndDropGoneOnes) {
    redis_->heartbeat("host-a", R"({"version":"1"})");
    // host-c's last heartbeat is older than kFleetNodeLifetime.
    testing::redis_call(server_->port(), {"HSET", "sluice:{fleet}nodes", "host-c", "{}"});
    testing::redis_call(server_->port(), {"ZADD", "sluice:{fleet}node-heartbeats", "1000", "host-c"});
    redis_->block({"203.0.113.7", unix_ns_from_now(60s), "api"});
    const FleetHeartbeatReply beat = redis_->heartbeat("host-b", R"({"version":"2"})");
    EXPECT_EQ(beat.seq, 1u);
    ASSERT_EQ(beat.nodes.size(), 2u);
    EXPECT_EQ(beat.nodes[0].name, "host-a");
    EXPECT_EQ(beat.nodes[0].json, R"({"version":"1"})");
    EXPECT_EQ(beat.nodes[1].name, "host-b");
    EXPECT_NEAR(static_cast<double>(beat.nodes[1].seen_unix_ms), static_cast<double>(unix_ns_from_now(0s) / 1'000'000),
                5'000.0);
    redis_->leave("host-a");
    EXPECT_EQ(redis_->heartbeat("host-b", "{}").nodes.size(), 1u);
}

TEST_F(FleetRedisTest, ScriptsFlushedFromRedisAreSentAgain) {
    redis_->block({"203.0.113.7", unix_ns_from_now(60s), "api"});
    testing::redis_call(server_->port(), {"SCRIPT", "FLUSH"});
    EXPECT_EQ(redis_->unblock("203.0.113.7"), 2u);
}

TEST_F(FleetRedisTest, NoAnswerIsRedisNoAnswer) {
    server_->kill(SIGKILL);
    EXPECT_NE(testing::error_of<RedisNoAnswer>([&] { redis_->snapshot(); }), "(no error)");
}

// All of the fleet's keys share the hash tag {fleet}: whichever seed is
// asked, the calls and the stream reads reach the slot's node.
TEST(FleetRedisCluster, ChangesAndTheStreamFollowTheSlotsNode) {
    if (testing::redis_server_program().empty()) GTEST_SKIP() << testing::kRedisServerMissing;
    testing::RedisCluster cluster(3);
    RedisStoreSettings settings;
    for (std::uint16_t port : cluster.ports()) settings.cluster.push_back({"127.0.0.1", port, "", 0});
    FleetRedis redis(settings);
    const std::int64_t expiry = unix_ns_from_now(60s);
    EXPECT_EQ(redis.block({"203.0.113.7", expiry, "api"}), 1u);
    EXPECT_EQ(redis.snapshot().blocks, (std::vector<FleetBlock>{{"203.0.113.7", expiry, "api"}}));
    const std::vector<FleetEvent> events = redis.read_events("0-0", 10ms);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(describe(events[0]), "1 block 203.0.113.7 api");
}

}  // namespace
}  // namespace sluice
