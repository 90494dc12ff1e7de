// The block filter in front of the block map: every block counts, however it
// was made, and a rebuild (sluiced's tick) keeps the live blocks and forgets
// the gone ones.
#include "packet_builder.h"
#include "xdp_fixture.h"

#include <gtest/gtest.h>

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::bpftest {
namespace {

using XdpBlockFilterTest = XdpFixture;

TEST_F(XdpBlockFilterTest, RebuildsKeepLiveBlocksAndForgetExpiredOnes) {
    set_rate(config, kHourNs, 10);
    write_config();
    block("192.0.2.1", now_ns() + kHourNs);
    block("192.0.2.2", now_ns() - kSecondNs);
    // Twice: each rebuild rewrites one of the two generations.
    remove_expired_blocks();
    remove_expired_blocks();

    EXPECT_FALSE(block_entry("192.0.2.2"));
    EXPECT_EQ(run(from("192.0.2.1")), XDP_DROP);
    EXPECT_EQ(run(from("192.0.2.2")), XDP_PASS);
    EXPECT_EQ(stats()[SLUICE_DROP_BLOCKED].packets, 1u);
}

TEST_F(XdpBlockFilterTest, TheProgramsOwnBlocksSurviveRebuilds) {
    write_one_an_hour_then_blocked();
    const Packet packet = from("192.0.2.1");
    ASSERT_EQ(run(packet), XDP_PASS);
    ASSERT_EQ(run(packet), XDP_DROP);  // over the rate: blocked
    remove_expired_blocks();
    remove_expired_blocks();

    EXPECT_EQ(run(packet), XDP_DROP);
    EXPECT_EQ(stats()[SLUICE_DROP_BLOCKED].packets, 1u);
}

// A block map entry the filter has not seen is not looked up: which is why
// sluiced rebuilds the filter before the program runs.
TEST_F(XdpBlockFilterTest, ABlockMapEntryCountsOnceTheFilterIsRebuilt) {
    write_block_entry_only("192.0.2.1", now_ns() + kHourNs);
    ASSERT_EQ(run(from("192.0.2.1")), XDP_PASS);
    rebuild_block_filter();
    EXPECT_EQ(run(from("192.0.2.1")), XDP_DROP);
    EXPECT_EQ(stats()[SLUICE_DROP_BLOCKED].packets, 1u);
}

// Enough blocks that the filter answers "maybe" for sources it does not
// hold: they are looked up and pass.
TEST_F(XdpBlockFilterTest, ManyBlocksAllHoldAndOthersPass) {
    set_rate(config, kHourNs, 10);
    write_config();
    const auto address = [](int i) { return "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".1"; };
    constexpr int blocks = 4000;
    for (int i = 0; i < blocks; ++i) ASSERT_TRUE(block(address(i), now_ns() + kHourNs));
    remove_expired_blocks();
    for (int i = 0; i < 2 * blocks; ++i)
        ASSERT_EQ(run(from(address(i))), i < blocks ? XDP_DROP : XDP_PASS) << address(i);
    EXPECT_EQ(stats()[SLUICE_DROP_BLOCKED].packets, static_cast<std::uint64_t>(blocks));
}

}  // namespace
}  // namespace sluice::bpftest
