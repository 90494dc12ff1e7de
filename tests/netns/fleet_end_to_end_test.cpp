// Fleet-wide blocks end to end (README, "Fleet mode"): three sluiced hosts in
// namespaces of their own with XDP native, one client namespace with an
// abuser (.2) and a good client (.3).
#include "fleet_fixture.h"

#include "xdp/abi.h"

#include <string>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// Enough for every request a test makes: only blocks refuse.
const nlohmann::json kGenerousQuota = {{{"name", "per-ip"}, {"path", ""}, {"rate", 1000}, {"interval", "1m"}}};

// Without Redis each host keeps its own blocks: checks only that the
// topology works (the bridge, XDP native in every host namespace, the admin
// API) with what sluiced has today.
using FleetTopology = FleetTest;

TEST_F(FleetTopology, EveryHostServesTheClientOverTheBridgeWithXdpNative) {
    ASSERT_NO_FATAL_FAILURE(start_hosts(kGenerousQuota));
    for (std::size_t host = 0; host < kHosts; ++host) {
        for (const std::string& source : {abuser_ip(), good_ip()}) {
            const CurlResult served = get(source, host);
            EXPECT_EQ(served.exit_code, 0) << source << " to host " << host_name(host);
            EXPECT_EQ(served.status, 200) << source << " to host " << host_name(host);
        }
        EXPECT_GT(packets(host, SLUICE_PASS_RATE_OK), 0u) << "host " << host_name(host) << "'s XDP saw nothing";
    }

    // A local block on a: dropped there at XDP, no one else knows of it.
    const CurlResult put = admin_block(kA, "PUT", abuser_ip(), R"({"duration":"30s"})");
    ASSERT_EQ(put.status, 204) << put.body;
    ASSERT_TRUE(block_entry(kA, abuser_ip()));
    const std::uint64_t blocked_before = packets(kA, SLUICE_DROP_BLOCKED);
    EXPECT_FALSE(connects(abuser_ip(), kA));
    EXPECT_GT(packets(kA, SLUICE_DROP_BLOCKED), blocked_before);
    EXPECT_TRUE(connects(good_ip(), kA));
    EXPECT_TRUE(connects(abuser_ip(), kB));

    const CurlResult removed = admin_block(kA, "DELETE", abuser_ip());
    ASSERT_EQ(removed.status, 204) << removed.body;
    EXPECT_FALSE(block_entry(kA, abuser_ip()));
    EXPECT_TRUE(connects(abuser_ip(), kA));
}

}  // namespace
}  // namespace sluice::test
