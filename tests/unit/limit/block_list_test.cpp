#include "limit/block_list.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace sluice {
namespace {

IpAddress ip(std::string_view text) { return *parse_ip(text); }

// What the block list tells the next layer, in order.
class RecordingListener final : public BlockListener {
public:
    std::vector<std::string> calls;
    void client_blocked(const IpAddress& client, Nanos until, std::string_view origin) override {
        calls.push_back("blocked " + client.to_string() + " " + std::to_string(until) + " " + std::string(origin));
    }
    void client_unblocked(const IpAddress& client) override { calls.push_back("unblocked " + client.to_string()); }
};

class BlockListTest : public ::testing::Test {
protected:
    BlockList blocks{3};
    RecordingListener listener;
    void SetUp() override { blocks.set_listener(&listener); }
};

TEST_F(BlockListTest, EmptyListBlocksNobody) {
    EXPECT_TRUE(blocks.empty());
    EXPECT_EQ(blocks.size(), 0u);
    EXPECT_EQ(blocks.refused_until(ip("192.0.2.1"), 0), std::nullopt);
    EXPECT_TRUE(blocks.entries(0).empty());
    EXPECT_EQ(blocks.version(), 0u);
}

TEST_F(BlockListTest, AddedClientIsBlockedUntilItsExpiryExclusive) {
    ASSERT_TRUE(blocks.add(ip("192.0.2.1"), 100, "api"));
    EXPECT_FALSE(blocks.empty());
    EXPECT_EQ(blocks.size(), 1u);
    EXPECT_EQ(blocks.refused_until(ip("192.0.2.1"), 99), 100);
    EXPECT_EQ(blocks.refused_until(ip("192.0.2.1"), 100), std::nullopt);
    EXPECT_EQ(blocks.refused_until(ip("192.0.2.2"), 99), std::nullopt);
    EXPECT_EQ(listener.calls, std::vector<std::string>{"blocked 192.0.2.1 100 api"});
}

TEST_F(BlockListTest, LongerBlockExtendsAndTakesItsOriginShorterOneChangesNothing) {
    blocks.client_blocked(ip("2001:db8::1"), 100, "quota:per-ip");
    blocks.client_blocked(ip("2001:db8::1"), 200, "api");
    const std::uint64_t version = blocks.version();
    blocks.client_blocked(ip("2001:db8::1"), 150, "quota:per-ip");
    EXPECT_TRUE(blocks.add(ip("2001:db8::1"), 200, "quota:other"));

    EXPECT_EQ(blocks.version(), version) << "neither the shorter nor the equal block is a change";
    const std::vector<BlockEntry> expected = {{ip("2001:db8::1"), 200, "api"}};
    EXPECT_EQ(blocks.entries(0), expected);
    const std::vector<std::string> calls = {"blocked 2001:db8::1 100 quota:per-ip", "blocked 2001:db8::1 200 api"};
    EXPECT_EQ(listener.calls, calls);
}

TEST_F(BlockListTest, QuotaBlocksAreListedButOnlyApiBlocksRefuseOutright) {
    blocks.client_blocked(ip("192.0.2.1"), 500, "quota:per-ip");
    EXPECT_EQ(blocks.refused_until(ip("192.0.2.1"), 0), std::nullopt) << "the quota refuses within its paths";
    EXPECT_TRUE(blocks.add(ip("192.0.2.1"), 200, "api"));  // shorter than the quota's, still a change
    EXPECT_EQ(blocks.refused_until(ip("192.0.2.1"), 0), 200);
    EXPECT_EQ(blocks.refused_until(ip("192.0.2.1"), 200), std::nullopt);
    const std::vector<BlockEntry> both = {{ip("192.0.2.1"), 200, "api"}, {ip("192.0.2.1"), 500, "quota:per-ip"}};
    EXPECT_EQ(blocks.entries(0), both);
    EXPECT_EQ(listener.calls, std::vector<std::string>{"blocked 192.0.2.1 500 quota:per-ip"})
        << "XDP already drops everything until 500";
    EXPECT_EQ(blocks.version(), 2u);

    // Loaded back (a restart) from its entries, the list is the same.
    BlockList reloaded(3);
    for (const BlockEntry& e : both) reloaded.client_blocked(e.client, e.until, e.origin);
    EXPECT_EQ(reloaded.entries(0), both);
    EXPECT_EQ(reloaded.refused_until(ip("192.0.2.1"), 0), 200);
    const std::vector<BlockEntry> quota_only = {{ip("192.0.2.1"), 500, "quota:per-ip"}};
    EXPECT_EQ(blocks.entries(200), quota_only);
}

TEST_F(BlockListTest, FullListRefusesANewClientButExtendsAListedOne) {
    for (const char* client : {"192.0.2.1", "192.0.2.2", "192.0.2.3"}) ASSERT_TRUE(blocks.add(ip(client), 100, "api"));
    listener.calls.clear();

    EXPECT_FALSE(blocks.add(ip("192.0.2.4"), 100, "api"));
    EXPECT_EQ(blocks.lost(), 0u) << "the API caller is told; only quota blocks count as lost";
    blocks.client_blocked(ip("192.0.2.5"), 100, "quota:per-ip");
    EXPECT_EQ(blocks.lost(), 1u);
    EXPECT_EQ(blocks.refused_until(ip("192.0.2.5"), 0), std::nullopt);

    EXPECT_TRUE(blocks.add(ip("192.0.2.2"), 300, "api"));
    EXPECT_EQ(blocks.refused_until(ip("192.0.2.2"), 0), 300);
    EXPECT_EQ(blocks.size(), 3u);
    EXPECT_EQ(listener.calls, std::vector<std::string>{"blocked 192.0.2.2 300 api"})
        << "refused clients are not forwarded";
}

TEST_F(BlockListTest, UnblockRemovesAndIsForwardedEvenForAnUnlistedClient) {
    blocks.add(ip("192.0.2.1"), 100, "api");
    const std::uint64_t after_add = blocks.version();
    blocks.client_unblocked(ip("192.0.2.1"));
    EXPECT_EQ(blocks.version(), after_add + 1);
    EXPECT_TRUE(blocks.empty());
    EXPECT_EQ(blocks.refused_until(ip("192.0.2.1"), 0), std::nullopt);

    blocks.client_unblocked(ip("192.0.2.9"));  // the XDP side may have its own block on it
    EXPECT_EQ(blocks.version(), after_add + 1) << "nothing on the list changed";
    const std::vector<std::string> calls = {"blocked 192.0.2.1 100 api", "unblocked 192.0.2.1", "unblocked 192.0.2.9"};
    EXPECT_EQ(listener.calls, calls);
}

TEST_F(BlockListTest, ExpireDropsOnlyExpiredEntriesWithoutTellingTheListener) {
    blocks.add(ip("192.0.2.1"), 100, "api");
    blocks.add(ip("192.0.2.2"), 200, "api");
    listener.calls.clear();
    const std::uint64_t version = blocks.version();

    EXPECT_EQ(blocks.expire(99), 0u);
    EXPECT_EQ(blocks.version(), version);
    EXPECT_EQ(blocks.expire(100), 1u);
    EXPECT_EQ(blocks.version(), version + 1);
    EXPECT_EQ(blocks.size(), 1u);
    EXPECT_EQ(blocks.refused_until(ip("192.0.2.2"), 100), 200);
    EXPECT_TRUE(listener.calls.empty()) << "the XDP side expires its own entries";
}

TEST_F(BlockListTest, EntriesAreTheUnexpiredOnesSortedByAddress) {
    BlockList many(10);
    many.add(ip("2001:db8::1"), 500, "api");
    many.add(ip("10.0.0.10"), 500, "quota:a");
    many.add(ip("10.0.0.9"), 500, "api");
    many.add(ip("10.0.0.2"), 50, "api");  // expired at 100, not yet swept
    const std::vector<BlockEntry> expected = {
        {ip("10.0.0.9"), 500, "api"}, {ip("10.0.0.10"), 500, "quota:a"}, {ip("2001:db8::1"), 500, "api"}};
    EXPECT_EQ(many.entries(100), expected);
    EXPECT_EQ(many.size(), 4u);
}

TEST_F(BlockListTest, WithoutAListenerChangesStillApply) {
    BlockList alone(1);
    alone.client_blocked(ip("192.0.2.1"), 100, "api");
    alone.client_unblocked(ip("192.0.2.1"));
    EXPECT_TRUE(alone.empty());
    EXPECT_EQ(alone.version(), 2u);
}

TEST(BlockListConcurrencyTest, WritersAndReadersOnManyThreadsAgreeOnTheEnd) {
    BlockList blocks(1000);
    RecordingListener listener;  // told under the list's change lock, so never concurrently
    blocks.set_listener(&listener);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 100; ++i) {
                const IpAddress client = ip("10.0." + std::to_string(t) + "." + std::to_string(i));
                blocks.client_blocked(client, 100 + i, "api");
                EXPECT_EQ(blocks.refused_until(client, 0), 100 + i);
                if (i % 2 == 1) blocks.client_unblocked(client);
            }
        });
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) blocks.entries(0);
        });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(blocks.size(), 200u);
    EXPECT_EQ(blocks.entries(0).size(), 200u);
    EXPECT_EQ(blocks.version(), 600u);
    EXPECT_EQ(listener.calls.size(), 600u);
}

}  // namespace
}  // namespace sluice
