// XdpController as sluiced drives it, attached to one end of a veth pair made
// for each test: the block list's changes reach the block map, blocks() reads
// the map back, and interface_counters() names each interface's counters.
// Frames are sent into the other end with a packet socket. Root only.
#include "packet_builder.h"
#include "store/local_store.h"

#include "control/control_plane.h"
#include "xdp/abi.h"
#include "xdp/controller.h"

#include <gtest/gtest.h>

#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

namespace sluice::bpftest {
namespace {

using namespace std::chrono_literals;

constexpr Nanos kSecondNs = 1'000'000'000;

IpAddress ip(std::string_view text) { return *parse_ip(text); }

class XdpControllerTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "attaching XDP needs root; run bpf_tests as root";
        const std::string pid = std::to_string(getpid());
        attached_ = "slxa" + pid;
        peer_ = "slxb" + pid;
        pin_path_ = "/sys/fs/bpf/sluice-bpftest-" + pid;
        ASSERT_EQ(shell("ip link add " + attached_ + " type veth peer name " + peer_), 0);
        veth_created_ = true;
        // No IPv6 on the pair: its neighbour discovery would send frames of
        // its own, some in the moment between attach and the first config
        // write, which the program counts under "other".
        for (const std::string& end : {attached_, peer_})
            ASSERT_EQ(shell("sysctl -qw net.ipv6.conf." + end + ".disable_ipv6=1"), 0);
        ASSERT_EQ(shell("ip link set " + attached_ + " up && ip link set " + peer_ + " up"), 0);
    }

    void TearDown() override {
        controller_.reset();
        remove_xdp_pins(pin_path_);
        if (veth_created_) shell("ip link del " + attached_);
    }

    static int shell(const std::string& command) { return std::system((command + " 2>&1").c_str()); }

    // Native on the veth, as sluiced runs in the netns tests; 10.0.0.0/8 is
    // a trusted proxy.
    XdpController& start(XdpSettings settings = {}) {
        settings.interfaces = {attached_};
        settings.mode = XdpMode::native;
        settings.pin_path = pin_path_;
        controller_ = std::make_unique<XdpController>(settings, std::vector<Cidr>{*parse_cidr("10.0.0.0/8")});
        return *controller_;
    }

    // Sends `frame` into the peer end: it arrives at the attached end's XDP.
    void send(const Packet& frame) const {
        const int fd = ::socket(AF_PACKET, SOCK_RAW, 0);
        ASSERT_GE(fd, 0) << std::strerror(errno);
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = static_cast<int>(if_nametoindex(peer_.c_str()));
        to.sll_halen = 6;
        const ssize_t sent =
            ::sendto(fd, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
        const int error = errno;
        ::close(fd);
        ASSERT_EQ(sent, static_cast<ssize_t>(frame.size())) << std::strerror(error);
    }

    // Blocks sorted by client: the map's order is the kernel's.
    std::vector<XdpBlock> sorted_blocks() const {
        std::vector<XdpBlock> blocks = controller_->blocks();
        std::sort(blocks.begin(), blocks.end(),
                  [](const XdpBlock& a, const XdpBlock& b) { return a.client < b.client; });
        return blocks;
    }

    std::string attached_, peer_, pin_path_;
    bool veth_created_ = false;
    std::unique_ptr<XdpController> controller_;
};

TEST_F(XdpControllerTest, BlocksAreReadBackWithTheirClientAndOrigin) {
    XdpController& xdp = start();
    const Nanos until = static_cast<Nanos>(xdp_now_ns()) + 60 * kSecondNs;
    xdp.client_blocked(ip("192.0.2.7"), until, "api");
    xdp.client_blocked(ip("2001:db8:1:2::5"), until + 1, "quota:per-ip");
    xdp.client_blocked(ip("10.1.2.3"), until, "api");  // a trusted proxy: never blocked
    xdp.client_blocked(ip("192.0.2.8"), static_cast<Nanos>(xdp_now_ns()) - kSecondNs, "api");  // already over

    const std::vector<XdpBlock> expected = {{"192.0.2.7", until, "api"}, {"2001:db8:1:2::/64", until + 1, "http"}};
    EXPECT_EQ(sorted_blocks(), expected);
}

TEST_F(XdpControllerTest, UnblockEndsTheBlockOfTheClientsIpv6Prefix) {
    XdpController& xdp = start();
    const Nanos until = static_cast<Nanos>(xdp_now_ns()) + 60 * kSecondNs;
    xdp.client_blocked(ip("2001:db8:1:2::5"), until, "api");
    xdp.client_blocked(ip("192.0.2.7"), until, "api");
    xdp.client_unblocked(ip("2001:db8:1:2::9"));
    xdp.client_unblocked(ip("192.0.2.99"));  // not blocked: nothing happens

    const std::vector<XdpBlock> expected = {{"192.0.2.7", until, "api"}};
    EXPECT_EQ(sorted_blocks(), expected);
}

TEST_F(XdpControllerTest, UnblockingOneClientOfAPrefixKeepsTheOtherListedOnesBlocked) {
    XdpController& xdp = start();
    SteadyClock clock;
    LocalStore store(100);
    Limiter limiter(std::make_shared<const Policy>(std::vector<Quota>{}, HeaderStyle::draft), store, clock,
                    KeyedHasher(1, 2));
    BlockList blocks(100);
    blocks.set_listener(&xdp);
    limiter.set_block_list(&blocks);
    ControlPlane control(limiter, blocks, &xdp, clock);
    control.start(Config{});

    ASSERT_TRUE(control.block("2001:db8:1:2::5", 1min).ok());
    ASSERT_TRUE(control.block("2001:db8:1:2::6", 2min).ok());
    ASSERT_TRUE(control.unblock("2001:db8:1:2::5").ok());
    const std::vector<XdpBlock> left = xdp.blocks();
    ASSERT_EQ(left.size(), 1u) << "::6 is still on the list, so its /64 stays dropped";
    EXPECT_EQ(left[0].client, "2001:db8:1:2::/64");
    EXPECT_EQ(left[0].origin, "api");

    ASSERT_TRUE(control.unblock("2001:db8:1:2::6").ok());
    EXPECT_TRUE(xdp.blocks().empty());
}

TEST_F(XdpControllerTest, CountersAreNamedByInterfaceAndTheProgramsBlockIsListed) {
    XdpSettings settings;
    settings.rate_pps = 1;
    settings.burst = 2;
    settings.ports = {80};  // the link's own chatter (IPv6 ND) is then not rated
    settings.block_on_exceed = 60 * kSecondNs;
    XdpController& xdp = start(settings);

    const Packet syn = PacketBuilder().ipv4("192.0.2.50", "198.51.100.1").tcp(40000, 80).build();
    const std::uint64_t first_sent = xdp_now_ns();
    for (int i = 0; i < 4; ++i) ASSERT_NO_FATAL_FAILURE(send(syn));

    // The frames are received asynchronously: wait for the fourth verdict.
    const auto counted = [&](const XdpCounters& c) {
        return c[SLUICE_PASS_RATE_OK].packets + c[SLUICE_DROP_RATE].packets + c[SLUICE_DROP_BLOCKED].packets;
    };
    std::vector<XdpInterfaceCounters> counters = xdp.interface_counters();
    for (int i = 0; i < 200 && (counters.size() != 1 || counted(counters[0].counters) < 4); ++i) {
        std::this_thread::sleep_for(10ms);
        counters = xdp.interface_counters();
    }
    ASSERT_EQ(counters.size(), 1u) << "no \"other\" entry: every packet came through " << attached_;
    EXPECT_EQ(counters[0].interface, attached_);
    const XdpCounters& c = counters[0].counters;
    EXPECT_EQ(c[SLUICE_PASS_RATE_OK].packets, 2u);
    EXPECT_EQ(c[SLUICE_DROP_RATE].packets, 1u);
    EXPECT_EQ(c[SLUICE_DROP_BLOCKED].packets, 1u);
    EXPECT_EQ(c[SLUICE_PASS_RATE_OK].bytes, 2 * syn.size());

    const std::vector<XdpBlock> blocks = xdp.blocks();
    ASSERT_EQ(blocks.size(), 1u);
    EXPECT_EQ(blocks[0].client, "192.0.2.50");
    EXPECT_EQ(blocks[0].origin, "xdp");
    EXPECT_GE(blocks[0].until, static_cast<Nanos>(first_sent) + 60 * kSecondNs - kSecondNs);
    EXPECT_LE(blocks[0].until, static_cast<Nanos>(xdp_now_ns()) + 60 * kSecondNs);
}

}  // namespace
}  // namespace sluice::bpftest
