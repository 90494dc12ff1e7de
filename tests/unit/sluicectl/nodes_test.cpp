#include "sluicectl/nodes.h"
#include "tests/support/fleet_nodes_data.h"

#include <gtest/gtest.h>

namespace sluice::ctl {
namespace {

using Json = nlohmann::ordered_json;

TEST(SluicectlNodes, TheSyncLineThenARowPerHost) {
    EXPECT_EQ(render_nodes(Json::parse(testing::kTwoNodesData)),
              "sync: lagging (since 2026-12-05T21:49:25Z, applied change 41, pending 2)\n"
              "NAME    VERSION  SYNC     LAG  SEEN                  ADDRESSES               QUOTAS           XDP\n"
              "edge-1  0.1.0    lagging  3    2026-12-05T21:49:29Z  0.0.0.0:8080,[::]:8080  api-keys,per-ip  "
              "eth0:native,eth1:generic\n"
              "edge-2  0.2.0    in_sync  0    2026-12-05T21:49:28Z  10.0.0.2:80             -                -\n");
}

TEST(SluicectlNodes, NoLiveHostIsSaid) {
    EXPECT_EQ(render_nodes(Json::parse(
                  R"({"sync":{"state":"disconnected","lag":0,"since":"2026-12-05T21:49:25Z","applied_seq":0,)"
                  R"("pending":3},"nodes":[]})")),
              "sync: disconnected (since 2026-12-05T21:49:25Z, applied change 0, pending 3)\n"
              "no live nodes\n");
}

// A server of another version may send less: what is missing reads "-".
TEST(SluicectlNodes, WhatTheServerDidNotSendIsADash) {
    EXPECT_EQ(render_nodes(Json::parse(R"({"sync":{"state":"lagging"},"nodes":[{"name":"edge-3"}]})")),
              "sync: lagging (since -, applied change -, pending -)\n"
              "NAME    VERSION  SYNC  LAG  SEEN  ADDRESSES  QUOTAS  XDP\n"
              "edge-3  -        -     -    -     -          -       -\n");
}

}  // namespace
}  // namespace sluice::ctl
