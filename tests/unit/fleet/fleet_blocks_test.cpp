// FleetBlocks: what a host owes its fleet, and what it must not send back.
#include "fleet/fleet_blocks.h"

#include "state/state_file.h"
#include "tests/support/error_of.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_folder.h"

#include <gtest/gtest.h>

#include <vector>

namespace sluice {
namespace {

constexpr Nanos kSecond = 1'000'000'000;

// The next listener: what reaches XDP.
struct RecordingListener final : BlockListener {
    std::vector<std::string> changes;
    void client_blocked(const IpAddress& client, Nanos, std::string_view origin) override {
        changes.push_back("block " + client.to_string() + " " + std::string(origin));
    }
    void client_unblocked(const IpAddress& client) override { changes.push_back("unblock " + client.to_string()); }
};

IpAddress ip(const char* text) { return *parse_ip(text); }

std::vector<std::string> owed(FleetBlocks& blocks) {
    std::vector<std::string> out;
    for (const FleetPending& change : blocks.take())
        out.push_back(change.block ? "block " + change.client + " " + change.block->origin
                                   : "unblock " + change.client);
    return out;
}

class FleetBlocksTest : public ::testing::Test {
protected:
    testing::FakeClock clock;
    RecordingListener xdp;
    FleetBlocks blocks{clock, 3, std::nullopt};

    void SetUp() override {
        blocks.set_next(&xdp);
        blocks.start_publishing();
    }
    FleetBlock fleet_block(const char* client, Nanos seconds_from_now, const char* origin = "api") {
        return {client, blocks.to_unix_ns(clock.now() + seconds_from_now * kSecond), origin};
    }
};

TEST_F(FleetBlocksTest, ALocalBlockIsPassedOnAndOwed) {
    blocks.client_blocked(ip("203.0.113.7"), clock.now() + 60 * kSecond, "quota:per-ip");
    EXPECT_EQ(xdp.changes, std::vector<std::string>{"block 203.0.113.7 quota:per-ip"});
    EXPECT_EQ(blocks.pending(), 1u);
    EXPECT_EQ(owed(blocks), std::vector<std::string>{"block 203.0.113.7 quota:per-ip"});
}

TEST_F(FleetBlocksTest, ABlockTheFleetHoldsIsPassedOnButNotSentBack) {
    const FleetBlock block = fleet_block("203.0.113.7", 60);
    blocks.fleet_holds(block);
    blocks.client_blocked(ip("203.0.113.7"), blocks.to_steady(block.expiry_unix_ns), "api");
    EXPECT_EQ(xdp.changes, std::vector<std::string>{"block 203.0.113.7 api"});
    EXPECT_EQ(blocks.pending(), 0u);
    // A longer one made here is news to the fleet.
    blocks.client_blocked(ip("203.0.113.7"), clock.now() + 120 * kSecond, "api");
    EXPECT_EQ(owed(blocks), std::vector<std::string>{"block 203.0.113.7 api"});
}

TEST_F(FleetBlocksTest, UnblockIsOwedOnlyForAClientTheFleetOrTheOutboxHas) {
    blocks.client_unblocked(ip("198.51.100.1"));  // never blocked anywhere
    blocks.fleet_holds(fleet_block("198.51.100.2", 60));
    blocks.client_unblocked(ip("198.51.100.2"));
    blocks.fleet_holds(fleet_block("198.51.100.3", 60));
    blocks.fleet_lifted("198.51.100.3");
    blocks.client_unblocked(ip("198.51.100.3"));  // the fleet's own unblock coming through the list
    EXPECT_EQ(owed(blocks), std::vector<std::string>{"unblock 198.51.100.2"});
    EXPECT_EQ(xdp.changes.size(), 3u);  // XDP hears of every one
}

TEST_F(FleetBlocksTest, TheLatestChangeOfAClientWins) {
    blocks.client_blocked(ip("203.0.113.7"), clock.now() + 60 * kSecond, "api");
    blocks.client_unblocked(ip("203.0.113.7"));
    EXPECT_EQ(owed(blocks), std::vector<std::string>{"unblock 203.0.113.7"});
}

TEST_F(FleetBlocksTest, GivenBackChangesWaitButANewerOneStands) {
    blocks.client_blocked(ip("203.0.113.7"), clock.now() + 60 * kSecond, "api");
    blocks.client_blocked(ip("203.0.113.8"), clock.now() + 60 * kSecond, "api");
    std::vector<FleetPending> taken = blocks.take();
    EXPECT_TRUE(blocks.owed("203.0.113.7"));  // on its way still counts
    blocks.client_unblocked(ip("203.0.113.7"));
    blocks.give_back(std::move(taken));
    EXPECT_EQ(owed(blocks), (std::vector<std::string>{"unblock 203.0.113.7", "block 203.0.113.8 api"}));
}

TEST_F(FleetBlocksTest, DeliveredBlocksAreTheFleetsFromThenOn) {
    blocks.client_blocked(ip("203.0.113.7"), clock.now() + 60 * kSecond, "api");
    blocks.done(blocks.take());
    EXPECT_FALSE(blocks.owed("203.0.113.7"));
    blocks.client_blocked(ip("203.0.113.7"), clock.now() + 30 * kSecond, "api");  // shorter: nothing new
    EXPECT_EQ(blocks.pending(), 0u);
}

TEST_F(FleetBlocksTest, TheOutboxIsBoundedAndCountsWhatItDrops) {
    for (const char* client : {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"})
        blocks.client_blocked(ip(client), clock.now() + 60 * kSecond, "api");
    EXPECT_EQ(blocks.pending(), 3u);
    EXPECT_EQ(blocks.lost(), 1u);
    EXPECT_EQ(xdp.changes.size(), 4u);  // enforced here all the same
}

TEST_F(FleetBlocksTest, NothingIsOwedBeforePublishingStarts) {
    FleetBlocks starting(clock, 10, std::nullopt);
    starting.set_next(&xdp);
    starting.client_blocked(ip("203.0.113.7"), clock.now() + 60 * kSecond, "api");  // read from state_dir
    EXPECT_EQ(starting.pending(), 0u);
    EXPECT_EQ(xdp.changes.size(), 1u);
}

TEST_F(FleetBlocksTest, TheClockConversionRoundTrips) {
    const Nanos until = clock.now() + 90 * kSecond;
    EXPECT_NEAR(static_cast<double>(blocks.to_steady(blocks.to_unix_ns(until))), static_cast<double>(until), 1e6);
}

TEST(FleetOutbox, WhatCouldNotBeDeliveredSurvivesARestart) {
    testing::TempFolder state_dir;
    testing::FakeClock clock;
    {
        FleetBlocks blocks(clock, 10, state_dir.path());
        blocks.start_publishing();
        blocks.client_blocked(ip("203.0.113.7"), clock.now() + 60 * kSecond, "api");
        blocks.fleet_holds({"198.51.100.2", blocks.to_unix_ns(clock.now() + 60 * kSecond), "api"});
        blocks.client_unblocked(ip("198.51.100.2"));
        blocks.give_back(blocks.take());  // Redis did not answer
    }
    FleetBlocks restarted(clock, 10, state_dir.path());
    EXPECT_EQ(owed(restarted), (std::vector<std::string>{"unblock 198.51.100.2", "block 203.0.113.7 api"}));
    restarted.done({});  // delivered: the file empties
    FleetBlocks again(clock, 10, state_dir.path());
    EXPECT_EQ(again.pending(), 0u);
}

TEST(FleetOutbox, AnInvalidFileIsRefusedWithItsPlace) {
    testing::TempFolder state_dir;
    testing::FakeClock clock;
    write_file_atomically(state_dir.path() / "fleet-outbox.json",
                          R"({"version": 1, "pending": [{"client": "not-an-ip", "unblock": true}]})");
    EXPECT_EQ(
        testing::error_of([&] { FleetBlocks(clock, 10, state_dir.path()); }),
        (state_dir.path() / "fleet-outbox.json").string() + R"(: pending[0].client: "not-an-ip" is not an IP address)");
}

}  // namespace
}  // namespace sluice
