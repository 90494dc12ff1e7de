// Behaviour over several packets: GCRA arithmetic, blocking, precedence,
// IPv6 source prefixes, the insert budget and the counters.
#include "packet_builder.h"
#include "xdp_fixture.h"

#include <gtest/gtest.h>

#include <linux/bpf.h>

#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

namespace sluice::bpftest {
namespace {

// Distance between two clock readings, for "about now + x" checks.
std::uint64_t distance(std::uint64_t a, std::uint64_t b) { return a > b ? a - b : b - a; }

using XdpGcraTest = XdpFixture;

TEST_F(XdpGcraTest, AdmitsExactlyTheBurstThenDrops) {
    set_rate(config, kHourNs, 10);  // 1 per hour: no refill during the test
    write_config();
    const Packet packet = from("192.0.2.1");

    const std::uint64_t start = now_ns();
    for (int i = 0; i < 10; ++i) ASSERT_EQ(run(packet), XDP_PASS) << "packet " << i + 1;
    EXPECT_EQ(stats()[SLUICE_PASS_RATE_OK].packets, 10u);
    EXPECT_EQ(stats()[SLUICE_DROP_RATE].packets, 0u);
    const auto state = source_state("192.0.2.1");
    ASSERT_TRUE(state);
    EXPECT_LT(distance(state->tat_ns, start + 10 * kHourNs), kSecondNs);

    EXPECT_EQ(run(packet), XDP_DROP);
    EXPECT_EQ(stats()[SLUICE_DROP_RATE].packets, 1u);
    // A refusal does not move the source on.
    EXPECT_EQ(source_state("192.0.2.1")->tat_ns, state->tat_ns);
    // Without block_ns the excess is only dropped.
    EXPECT_FALSE(block_entry("192.0.2.1"));

    EXPECT_EQ(run(from("192.0.2.2")), XDP_PASS);
    EXPECT_EQ(stats()[SLUICE_PASS_RATE_OK].packets, 11u);
}

TEST_F(XdpGcraTest, ZeroEmissionPassesWithoutTracking) {
    config = {};  // the all-zero record the map holds before sluiced writes it
    write_config();
    for (int i = 0; i < 20; ++i) ASSERT_EQ(run(from("192.0.2.1")), XDP_PASS);
    ASSERT_EQ(run(from("2001:db8::1")), XDP_PASS);
    ASSERT_EQ(run(PacketBuilder().arp().build()), XDP_PASS);
    const StatRow row = stats();
    EXPECT_EQ(row[SLUICE_PASS_RATE_OK].packets, 21u);
    EXPECT_EQ(row[SLUICE_PASS_UNPARSED].packets, 1u);
    EXPECT_TRUE(source_keys().empty());
}

using XdpBlockTest = XdpFixture;

TEST_F(XdpBlockTest, ExceedingBlocksTheSource) {
    write_one_an_hour_then_blocked();
    const Packet packet = from("192.0.2.1");

    ASSERT_EQ(run(packet), XDP_PASS);
    const std::uint64_t exceeded_at = now_ns();
    EXPECT_EQ(run(packet), XDP_DROP);
    EXPECT_EQ(stats()[SLUICE_DROP_RATE].packets, 1u);
    EXPECT_EQ(stats()[SLUICE_DROP_BLOCKED].packets, 0u);

    const auto entry = block_entry("192.0.2.1");
    ASSERT_TRUE(entry);
    EXPECT_LT(distance(entry->expires_ns, exceeded_at + config.block_ns), kSecondNs);
    EXPECT_EQ(entry->origin, static_cast<std::uint32_t>(SLUICE_BLOCKED_BY_RATE));

    EXPECT_EQ(run(packet), XDP_DROP);
    EXPECT_EQ(stats()[SLUICE_DROP_BLOCKED].packets, 1u);
    EXPECT_EQ(stats()[SLUICE_DROP_RATE].packets, 1u);
    EXPECT_EQ(stats()[SLUICE_EVENT_BLOCK_FULL].packets, 0u);

    // Only the offender.
    EXPECT_EQ(run(from("192.0.2.2")), XDP_PASS);
    EXPECT_FALSE(block_entry("192.0.2.2"));
}

TEST_F(XdpBlockTest, ExpiredBlockPassesLiveBlockDrops) {
    set_rate(config, kHourNs, 10);
    write_config();
    block("192.0.2.1", now_ns() - kSecondNs);
    block("192.0.2.2", now_ns() + kHourNs);

    EXPECT_EQ(run(from("192.0.2.1")), XDP_PASS);
    EXPECT_EQ(stats()[SLUICE_PASS_RATE_OK].packets, 1u);
    EXPECT_EQ(run(from("192.0.2.2")), XDP_DROP);
    EXPECT_EQ(stats()[SLUICE_DROP_BLOCKED].packets, 1u);
    EXPECT_EQ(stats()[SLUICE_PASS_RATE_OK].packets, 1u);
}

TEST_F(XdpBlockTest, ExpiredBlockIsRenewedByTheNextExcess) {
    write_one_an_hour_then_blocked();
    block("192.0.2.1", now_ns() - kSecondNs, SLUICE_BLOCKED_BY_HTTP);
    const Packet packet = from("192.0.2.1");

    ASSERT_EQ(run(packet), XDP_PASS);
    const std::uint64_t exceeded_at = now_ns();
    ASSERT_EQ(run(packet), XDP_DROP);
    const auto entry = block_entry("192.0.2.1");
    ASSERT_TRUE(entry);
    EXPECT_LT(distance(entry->expires_ns, exceeded_at + config.block_ns), kSecondNs);
    EXPECT_EQ(entry->origin, static_cast<std::uint32_t>(SLUICE_BLOCKED_BY_RATE));
    EXPECT_EQ(run(packet), XDP_DROP);
    EXPECT_EQ(stats()[SLUICE_DROP_BLOCKED].packets, 1u);
}

// The block map holds one entry, and another source has it.
class XdpFullBlockMapTest : public XdpFixture {
protected:
    std::uint32_t blocked_max_entries() const override { return 1; }
};

TEST_F(XdpFullBlockMapTest, ExcessIsStillDroppedAndCounted) {
    write_one_an_hour_then_blocked();
    block("203.0.113.1", now_ns() + kHourNs);
    const Packet packet = from("192.0.2.1");

    ASSERT_EQ(run(packet), XDP_PASS);
    EXPECT_EQ(run(packet), XDP_DROP);
    StatRow row = stats();
    EXPECT_EQ(row[SLUICE_DROP_RATE].packets, 1u);
    EXPECT_EQ(row[SLUICE_EVENT_BLOCK_FULL].packets, 1u);
    EXPECT_EQ(row[SLUICE_EVENT_BLOCK_FULL].bytes, 0u);
    EXPECT_FALSE(block_entry("192.0.2.1"));

    // Not in the block map, but blocked while it stays tracked.
    EXPECT_EQ(run(packet), XDP_DROP);
    row = stats();
    EXPECT_EQ(row[SLUICE_DROP_RATE].packets, 1u);
    EXPECT_EQ(row[SLUICE_DROP_BLOCKED].packets, 1u);
    EXPECT_EQ(row[SLUICE_EVENT_BLOCK_FULL].packets, 1u);
}

TEST_F(XdpFullBlockMapTest, UnblockEndsTheBlockKeptInTheSlot) {
    write_one_an_hour_then_blocked();
    block("203.0.113.1", now_ns() + kHourNs);
    const Packet packet = from("192.0.2.1");
    ASSERT_EQ(run(packet), XDP_PASS);
    ASSERT_EQ(run(packet), XDP_DROP);  // over the rate: blocked in its slot only
    ASSERT_NE(source_state("192.0.2.1")->blocked_until_ns, 0u);

    EXPECT_TRUE(unblock("192.0.2.1"));
    EXPECT_EQ(source_state("192.0.2.1")->blocked_until_ns, 0u);
    EXPECT_EQ(run(packet), XDP_DROP);  // still over its rate, no longer blocked
    const StatRow row = stats();
    EXPECT_EQ(row[SLUICE_DROP_RATE].packets, 2u);
    EXPECT_EQ(row[SLUICE_DROP_BLOCKED].packets, 0u);
}

TEST_F(XdpFullBlockMapTest, ExpiredEntryIsRenewedWithoutAFreeSlot) {
    write_one_an_hour_then_blocked();
    block("192.0.2.1", now_ns() - kSecondNs);  // fills the map
    const Packet packet = from("192.0.2.1");

    ASSERT_EQ(run(packet), XDP_PASS);
    EXPECT_EQ(run(packet), XDP_DROP);
    EXPECT_EQ(stats()[SLUICE_EVENT_BLOCK_FULL].packets, 0u);
    EXPECT_EQ(run(packet), XDP_DROP);
    EXPECT_EQ(stats()[SLUICE_DROP_BLOCKED].packets, 1u);
}

// Which verdict wins when several apply is in xdp_verdict_test.cpp's table;
// here, what takes several packets.
using XdpPrecedenceTest = XdpFixture;

TEST_F(XdpPrecedenceTest, BlockOfATrackedSourceHolds) {
    set_rate(config, kHourNs, 10);
    write_config();
    ASSERT_EQ(run(from("192.0.2.1")), XDP_PASS);  // now tracked
    ASSERT_TRUE(block("192.0.2.1", now_ns() + kHourNs));
    EXPECT_EQ(run(from("192.0.2.1")), XDP_DROP);
    EXPECT_EQ(stats()[SLUICE_DROP_BLOCKED].packets, 1u);
    EXPECT_EQ(run(from("192.0.2.2")), XDP_PASS);
}

using XdpUnblockTest = XdpFixture;

TEST_F(XdpUnblockTest, UnblockedTrackedSourcePassesAgain) {
    set_rate(config, kHourNs, 10);
    write_config();
    ASSERT_EQ(run(from("192.0.2.1")), XDP_PASS);  // now tracked
    ASSERT_TRUE(block("192.0.2.1", now_ns() + kHourNs, SLUICE_BLOCKED_BY_API));
    ASSERT_EQ(run(from("192.0.2.1")), XDP_DROP);

    EXPECT_TRUE(unblock("192.0.2.1"));
    EXPECT_FALSE(block_entry("192.0.2.1"));
    EXPECT_EQ(run(from("192.0.2.1")), XDP_PASS);
    EXPECT_FALSE(unblock("192.0.2.1")) << "nothing left to unblock";
    const StatRow row = stats();
    EXPECT_EQ(row[SLUICE_DROP_BLOCKED].packets, 1u);
    EXPECT_EQ(row[SLUICE_PASS_RATE_OK].packets, 2u);
}

TEST_F(XdpUnblockTest, UnblockEndsTheBlockOfTheWholeIpv6Prefix) {
    set_rate(config, kHourNs, 10);
    write_config();
    ASSERT_EQ(run(from("2001:db8:1:2::1")), XDP_PASS);  // its /64 now tracked
    ASSERT_TRUE(block("2001:db8:1:2::5", now_ns() + kHourNs));
    ASSERT_EQ(run(from("2001:db8:1:2::1")), XDP_DROP);

    EXPECT_TRUE(unblock("2001:db8:1:2::9"));
    EXPECT_FALSE(block_entry("2001:db8:1:2::1"));
    EXPECT_EQ(run(from("2001:db8:1:2::1")), XDP_PASS);
    EXPECT_EQ(stats()[SLUICE_DROP_BLOCKED].packets, 1u);
}

TEST_F(XdpUnblockTest, UnblockOfAnUntrackedSourceDeletesItsBlock) {
    block("192.0.2.1", now_ns() + kHourNs);
    ASSERT_EQ(run(from("192.0.2.1")), XDP_DROP);
    EXPECT_TRUE(unblock("192.0.2.1"));
    EXPECT_FALSE(source_state("192.0.2.1"));
    EXPECT_EQ(run(from("192.0.2.1")), XDP_PASS);
}

// IPv6 sources are rated by prefix (config ipv6_prefix), IPv4 by address:
// each row sends its packets in order at a rate of one per hour.
struct PrefixCase {
    std::string description;
    std::uint32_t prefix;
    std::uint32_t burst;
    std::vector<std::pair<const char*, int>> packets;  // source, verdict
    std::vector<const char*> tracked;                  // the source keys after them
};

void PrintTo(const PrefixCase& c, std::ostream* out) { *out << c.description; }

std::vector<PrefixCase> prefix_cases() {
    return {
        {"sources in one /64 share a budget",
         64,
         2,
         {{"2001:db8:1:2::1", XDP_PASS},
          {"2001:db8:1:2::2", XDP_PASS},
          {"2001:db8:1:2:ffff:ffff:ffff:ffff", XDP_DROP},
          {"2001:db8:1:3::1", XDP_PASS}},
         {"2001:db8:1:2::", "2001:db8:1:3::"}},
        {"prefix 128 keeps sources apart",
         128,
         2,
         {{"2001:db8:1:2::1", XDP_PASS},
          {"2001:db8:1:2::1", XDP_PASS},
          {"2001:db8:1:2::1", XDP_DROP},
          {"2001:db8:1:2::2", XDP_PASS}},
         {"2001:db8:1:2::1", "2001:db8:1:2::2"}},
        {"prefix off a byte boundary",
         60,
         1,
         {{"2001:db8:1:20::1", XDP_PASS}, {"2001:db8:1:2f::1", XDP_DROP}, {"2001:db8:1:30::1", XDP_PASS}},
         {"2001:db8:1:20::", "2001:db8:1:30::"}},
        {"IPv4 is never masked", 64, 1, {{"192.0.2.1", XDP_PASS}, {"192.0.2.2", XDP_PASS}}, {"192.0.2.1", "192.0.2.2"}},
    };
}

class XdpIpv6PrefixTest : public XdpFixture, public ::testing::WithParamInterface<PrefixCase> {};

TEST_P(XdpIpv6PrefixTest, RatesEachPrefixAsOneSource) {
    const PrefixCase& c = GetParam();
    set_rate(config, kHourNs, c.burst);
    set_ipv6_prefix(config, c.prefix);
    write_config();

    std::uint64_t drops = 0;
    for (const auto& [source, verdict] : c.packets) {
        EXPECT_EQ(run(from(source)), verdict) << source;
        drops += verdict == XDP_DROP;
    }
    EXPECT_EQ(stats()[SLUICE_DROP_RATE].packets, drops);
    std::vector<std::array<std::uint8_t, 16>> tracked;
    for (const char* key : c.tracked) tracked.push_back(address_bytes(key));
    EXPECT_EQ(source_keys(), tracked);
}

INSTANTIATE_TEST_SUITE_P(Table, XdpIpv6PrefixTest, ::testing::ValuesIn(prefix_cases()), case_name<PrefixCase>);

using XdpInsertBudgetTest = XdpFixture;

TEST_F(XdpInsertBudgetTest, OneBankedInsertTracksOneNewSource) {
    set_rate(config, kHourNs, 2);
    config.insert_interval_ns = 1'000'000'000'000'000'000;  // no refill during the test
    config.insert_burst_ns = config.insert_interval_ns;     // one insert banked
    write_config();

    EXPECT_EQ(run(from("192.0.2.1")), XDP_PASS);
    EXPECT_EQ(stats()[SLUICE_PASS_RATE_OK].packets, 1u);
    EXPECT_TRUE(source_state("192.0.2.1"));

    EXPECT_EQ(run(from("192.0.2.2")), XDP_PASS);
    EXPECT_EQ(run(from("2001:db8::1")), XDP_PASS);
    EXPECT_EQ(run(from("192.0.2.2")), XDP_PASS);
    EXPECT_EQ(stats()[SLUICE_PASS_GATED].packets, 3u);
    EXPECT_EQ(source_keys(), (std::vector{address_bytes("192.0.2.1")}));

    // The tracked source is still rated: its burst of 2 runs out.
    EXPECT_EQ(run(from("192.0.2.1")), XDP_PASS);
    EXPECT_EQ(run(from("192.0.2.1")), XDP_DROP);
    const StatRow row = stats();
    EXPECT_EQ(row[SLUICE_PASS_RATE_OK].packets, 2u);
    EXPECT_EQ(row[SLUICE_DROP_RATE].packets, 1u);
    EXPECT_EQ(row[SLUICE_PASS_GATED].packets, 3u);
}

TEST_F(XdpInsertBudgetTest, ZeroIntervalTracksEveryNewSource) {
    set_rate(config, kHourNs, 2);
    write_config();
    for (const char* source : {"192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8:1::1", "2001:db8:2::1"})
        EXPECT_EQ(run(from(source)), XDP_PASS) << source;
    EXPECT_EQ(stats()[SLUICE_PASS_RATE_OK].packets, 5u);
    EXPECT_EQ(stats()[SLUICE_PASS_GATED].packets, 0u);
    EXPECT_EQ(source_keys().size(), 5u);
}

using XdpStatsTest = XdpFixture;

TEST_F(XdpStatsTest, BytesAreFrameLengths) {
    set_rate(config, kHourNs, 2);
    write_config();
    const Packet small = PacketBuilder().ipv4("192.0.2.1", "198.51.100.1").udp(40000, 53).payload(10).build();
    const Packet large =
        PacketBuilder().vlan(kTpid8021q, 7).ipv6("2001:db8::1", "2001:db8::2").tcp(40000, 80).payload(1200).build();
    const Packet cut = truncated(small, 30);

    ASSERT_EQ(run(small), XDP_PASS);
    ASSERT_EQ(run(large), XDP_PASS);
    ASSERT_EQ(run(cut), XDP_PASS);
    ASSERT_EQ(run(small), XDP_PASS);
    ASSERT_EQ(run(small), XDP_DROP);
    const StatRow row = stats();
    EXPECT_EQ(row[SLUICE_PASS_RATE_OK].packets, 3u);
    EXPECT_EQ(row[SLUICE_PASS_RATE_OK].bytes, 2 * small.size() + large.size());
    EXPECT_EQ(row[SLUICE_PASS_UNPARSED].packets, 1u);
    EXPECT_EQ(row[SLUICE_PASS_UNPARSED].bytes, cut.size());
    EXPECT_EQ(row[SLUICE_DROP_RATE].packets, 1u);
    EXPECT_EQ(row[SLUICE_DROP_RATE].bytes, small.size());
}

TEST_F(XdpStatsTest, SlotFollowsTheConfiguredIfindex) {
    config.ifindex[3] = kLoopbackIfindex;
    write_config();
    const Packet packet = from("192.0.2.1");
    ASSERT_EQ(run(packet), XDP_PASS);

    EXPECT_EQ(stats(3)[SLUICE_PASS_RATE_OK].packets, 1u);
    EXPECT_EQ(stats(3)[SLUICE_PASS_RATE_OK].bytes, packet.size());
    for (std::uint32_t slot = 0; slot < SLUICE_IFACE_SLOTS; ++slot) {
        if (slot == 3) continue;
        for (const sluice_counter& counter : stats(slot)) EXPECT_EQ(counter.packets, 0u) << "slot " << slot;
    }
}

}  // namespace
}  // namespace sluice::bpftest
