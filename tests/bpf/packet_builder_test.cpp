// The builder's frames byte by byte: a wrong offset here would make the
// verdict tests test nothing.
#include "packet_builder.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <stdexcept>

namespace sluice::bpftest {
namespace {

std::uint16_t at16(const Packet& packet, std::size_t offset) {
    return static_cast<std::uint16_t>(packet.at(offset) << 8 | packet.at(offset + 1));
}

TEST(PacketBuilder, Ipv4TcpLayoutAndChecksum) {
    const Packet p = PacketBuilder().ipv4("192.0.2.10", "198.51.100.1").tcp(40000, 80).payload(5).build();
    ASSERT_EQ(p.size(), 14u + 20 + 20 + 5);
    EXPECT_EQ(at16(p, 12), kEthertypeIpv4);
    EXPECT_EQ(p[14], 0x45);
    EXPECT_EQ(at16(p, 16), 20u + 20 + 5);  // total length
    EXPECT_EQ(at16(p, 20), 0u);            // not a fragment
    EXPECT_EQ(p[23], 6);                   // TCP
    EXPECT_EQ(internet_checksum(&p[14], 20), 0u);
    EXPECT_EQ((Packet{p.begin() + 26, p.begin() + 30}), (Packet{192, 0, 2, 10}));
    EXPECT_EQ(at16(p, 34), 40000u);
    EXPECT_EQ(at16(p, 36), 80u);
}

TEST(PacketBuilder, Ipv4OptionsAndFragments) {
    const Packet first = PacketBuilder()
                             .ipv4("192.0.2.10", "198.51.100.1")
                             .ipv4_options(8)
                             .ipv4_fragment(0, true)
                             .udp(1, 53)
                             .payload(16)
                             .build();
    EXPECT_EQ(first[14], 0x47);
    EXPECT_EQ(at16(first, 20), 0x2000u);  // MF, offset 0
    EXPECT_EQ(internet_checksum(&first[14], 28), 0u);
    EXPECT_EQ(at16(first, 14 + 28 + 2), 53u);
    EXPECT_EQ(at16(first, 14 + 28 + 4), 8u + 16);  // UDP length

    const Packet later =
        PacketBuilder().ipv4("192.0.2.10", "198.51.100.1").ipv4_fragment(185, false).udp(1, 53).payload(16).build();
    EXPECT_EQ(later.size(), 14u + 20 + 16);  // no UDP header
    EXPECT_EQ(at16(later, 20), 185u);
    EXPECT_EQ(later[23], 17);  // still says UDP
    EXPECT_EQ(internet_checksum(&later[14], 20), 0u);
}

TEST(PacketBuilder, VlanTagsOutermostFirst) {
    const Packet p = PacketBuilder()
                         .vlan(kTpid8021ad, 100)
                         .vlan(kTpid8021q, 10)
                         .ipv6("2001:db8::1", "2001:db8::2")
                         .udp(1, 53)
                         .build();
    EXPECT_EQ(at16(p, 12), kTpid8021ad);
    EXPECT_EQ(at16(p, 14), 100u);
    EXPECT_EQ(at16(p, 16), kTpid8021q);
    EXPECT_EQ(at16(p, 18), 10u);
    EXPECT_EQ(at16(p, 20), kEthertypeIpv6);
    EXPECT_EQ(p.at(22) >> 4, 6);
}

TEST(PacketBuilder, Ipv6ExtensionHeaderChain) {
    const Packet p =
        PacketBuilder().ipv6("2001:db8::1", "2001:db8::2").ipv6_hop_by_hop().ipv6_fragment(3, true).tcp(1, 443).build();
    ASSERT_EQ(p.size(), 14u + 40 + 8 + 8);  // later fragment: no TCP header
    EXPECT_EQ(at16(p, 18), 16u);            // payload length
    EXPECT_EQ(p[20], 0);                    // hop-by-hop first
    EXPECT_EQ(p[54], 44);                   // then fragment
    EXPECT_EQ(p[55], 0);                    // 8 bytes
    EXPECT_EQ(p[62], 6);                    // then TCP
    EXPECT_EQ(at16(p, 64), 3u << 3 | 1);    // offset 3, M

    const Packet first = PacketBuilder().ipv6("2001:db8::1", "2001:db8::2").ipv6_fragment(0, true).tcp(1, 443).build();
    EXPECT_EQ(first.size(), 14u + 40 + 8 + 20);
    EXPECT_EQ(at16(first, 62 + 2), 443u);
}

TEST(PacketBuilder, IcmpFollowsTheFamily) {
    const Packet v4 = PacketBuilder().ipv4("192.0.2.1", "192.0.2.2").icmp().build();
    EXPECT_EQ(v4[23], 1);
    EXPECT_EQ(v4[34], 8);
    const Packet v6 = PacketBuilder().ipv6("2001:db8::1", "2001:db8::2").icmp().build();
    EXPECT_EQ(v6[20], 58);
    EXPECT_EQ(v6[54], 128);
}

TEST(PacketBuilder, ArpAndTruncation) {
    const Packet arp = PacketBuilder().arp().build();
    EXPECT_EQ(arp.size(), 14u + 28);
    EXPECT_EQ(at16(arp, 12), kEthertypeArp);
    EXPECT_EQ(truncated(arp, 10), (Packet{arp.begin(), arp.begin() + 10}));
    EXPECT_THROW(truncated(arp, arp.size() + 1), std::invalid_argument);
}

TEST(PacketBuilder, AddressesAreSixteenBytes) {
    EXPECT_EQ(address_bytes("192.0.2.1"),
              (std::array<std::uint8_t, 16>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1}));
    EXPECT_EQ(address_bytes("2001:db8::1")[1], 0x01);
    EXPECT_THROW(address_bytes("not an address"), std::invalid_argument);
}

}  // namespace
}  // namespace sluice::bpftest
