// The Redis store on a real 3-node Redis Cluster: a request whose keys are in
// slots of different nodes is asked of them at once, a refusal in one slot
// gives back what the others consumed, and a slot that moves while requests
// come (ASK while its keys migrate, MOVED after) costs no request and no count.
#include "store/redis_handle.h"
#include "store/redis_quota_call.h"
#include "store/redis_store.h"

#include "tests/support/fake_clock.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/redis_store_fixture.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace sluice {
namespace {

constexpr std::size_t kNodes = 3;

// The node serving `slot`, as RedisCluster spreads the slots: equal ranges.
std::size_t node_of(std::uint16_t slot) { return slot * kNodes / kClusterSlots; }

// An identity whose keys live on node `node`, other than `not_this`.
std::uint64_t identity_on(std::size_t node, std::uint64_t not_this = 0) {
    for (std::uint64_t identity = 1;; ++identity)
        if (identity != not_this && node_of(state_key_slot(identity)) == node) return identity;
}

class RedisClusterStore : public testing::RedisStoreTest<testing::RedisCluster> {
protected:
    void SetUp() override {
        testing::RedisServerTest::SetUp();
        if (IsSkipped()) return;
        start(testing::RefusalCache::off, kNodes);
    }

    std::string node_id(std::size_t node) const {
        return std::string(reply_text(*testing::redis_call(redis_->ports()[node], {"CLUSTER", "MYID"})));
    }
    void on_node(std::size_t node, std::initializer_list<std::string_view> command) const {
        const RedisReplyPtr reply = testing::redis_call(redis_->ports()[node], command);
        ASSERT_FALSE(is_error(*reply)) << *command.begin() << ": " << reply_text(*reply);
    }
};

LimitParams fixed_window(double rate) {
    return LimitParams::from(testing::make_quota("q", "", rate, 1h, Algorithm::fixed_window));
}

TEST_F(RedisClusterStore, ARefusalInOneSlotGivesBackWhatTheOtherSlotsConsumed) {
    const LimitParams tight = fixed_window(1), roomy = fixed_window(10);
    const std::uint64_t on_first = identity_on(0), on_second = identity_on(1), on_third = identity_on(2);
    const QuotaCheck checks[] = {
        {&tight, 1, true, on_first}, {&roomy, 2, true, on_second}, {&roomy, 3, true, on_third}};
    CheckResult results[3];
    ASSERT_EQ(ask(checks, results), StoreReply::admitted) << "three slots on three nodes, each admitting";
    EXPECT_EQ(results[1].evaluation.remaining, 9u);
    EXPECT_EQ(results[2].evaluation.remaining, 9u);

    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(ask(checks, results), StoreReply::refused);
        EXPECT_FALSE(results[0].evaluation.allowed);
        EXPECT_TRUE(results[1].evaluation.allowed) << "the roomy quotas alone would allow";
    }
    EXPECT_EQ(store_->peek(2, on_second).current, 1u) << "the refused requests' counts were given back";
    EXPECT_EQ(store_->peek(3, on_third).current, 1u);
    EXPECT_EQ(store_->peek(1, on_first).current, 1u);
}

TEST_F(RedisClusterStore, ASlotThatMovesWhileRequestsComeCostsNoRequestAndNoCount) {
    const LimitParams p = fixed_window(1000);
    const std::uint64_t identity = identity_on(0);
    const std::string slot = std::to_string(state_key_slot(identity));
    const std::string from = node_id(0), to = node_id(1);
    int admitted = 0;
    const auto requests = [&](int n) {
        for (int i = 0; i < n; ++i) {
            // Several keys of the identity: the slot's keys migrate one by one.
            const QuotaCheck check{&p, static_cast<std::uint64_t>(i % 4), true, identity};
            CheckResult result;
            const StoreReply reply = ask({&check, 1}, {&result, 1});
            ASSERT_EQ(reply, StoreReply::admitted) << "request " << admitted;
            ++admitted;
        }
    };
    requests(20);
    // The steps of `redis-cli --cluster reshard`, with requests between them.
    on_node(1, {"CLUSTER", "SETSLOT", slot, "IMPORTING", from});
    on_node(0, {"CLUSTER", "SETSLOT", slot, "MIGRATING", to});
    requests(20);  // every key still on the old node
    const RedisReplyPtr names = testing::redis_call(redis_->ports()[0], {"CLUSTER", "GETKEYSINSLOT", slot, "10"});
    ASSERT_EQ(names->elements, 4u);
    const std::string port = std::to_string(redis_->ports()[1]);
    // Two keys go first: a request for one of them is redirected (ASK).
    on_node(0, {"MIGRATE", "127.0.0.1", port, "", "0", "5000", "KEYS", reply_text(*names->element[0]),
                reply_text(*names->element[1])});
    requests(20);
    on_node(0, {"MIGRATE", "127.0.0.1", port, "", "0", "5000", "KEYS", reply_text(*names->element[2]),
                reply_text(*names->element[3])});
    requests(20);
    EXPECT_NE(std::string(reply_text(*testing::redis_call(redis_->ports()[1], {"INFO", "commandstats"})))
                  .find("cmdstat_asking:calls="),
              std::string::npos)
        << "the migrated keys were asked for on the importing node (ASK)";
    for (std::size_t node = 0; node < kNodes; ++node) on_node(node, {"CLUSTER", "SETSLOT", slot, "NODE", to});
    requests(20);  // MOVED, then the new node
    EXPECT_EQ(admitted, 100);
    for (std::uint64_t key = 0; key < 4; ++key)
        EXPECT_EQ(store_->peek(key, identity).current, 25u) << "key " << key << ": every request counted once";
}

}  // namespace
}  // namespace sluice
