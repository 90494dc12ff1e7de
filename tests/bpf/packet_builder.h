// Builds the raw frames the XDP tests feed to BPF_PROG_RUN: Ethernet, up to
// two VLAN tags, IPv4 or IPv6 (with options, extension headers, fragments),
// then TCP, UDP or ICMP. Headers are appended in call order, so a test reads
// like the frame it describes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sluice::bpftest {

using Packet = std::vector<std::uint8_t>;

inline constexpr std::uint16_t kEthertypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEthertypeIpv6 = 0x86dd;
inline constexpr std::uint16_t kEthertypeArp = 0x0806;
inline constexpr std::uint16_t kTpid8021q = 0x8100;
inline constexpr std::uint16_t kTpid8021ad = 0x88a8;

inline constexpr std::size_t kEthernetHeaderSize = 14;
inline constexpr std::size_t kVlanTagSize = 4;
inline constexpr std::size_t kIpv4HeaderSize = 20;
inline constexpr std::size_t kIpv6HeaderSize = 40;

// The 16-byte form the program keys sources by: IPv6 as is, IPv4 mapped into
// ::ffff:a.b.c.d. Throws std::invalid_argument for anything else.
std::array<std::uint8_t, 16> address_bytes(std::string_view address);

class PacketBuilder {
public:
    // Tags go between the MAC addresses and the ethertype, outermost first.
    PacketBuilder& vlan(std::uint16_t tpid, std::uint16_t vid);

    // An ARP request: not IP, so the program must not parse it.
    PacketBuilder& arp();

    PacketBuilder& ipv4(std::string_view source, std::string_view destination);
    // NOP options of `bytes` (a multiple of 4, at most 40), growing IHL.
    PacketBuilder& ipv4_options(std::size_t bytes);
    // `offset` in 8-byte units, as on the wire. A later fragment (offset > 0)
    // carries no L4 header: tcp()/udp()/icmp() then only set the protocol.
    PacketBuilder& ipv4_fragment(std::uint16_t offset, bool more_fragments);

    PacketBuilder& ipv6(std::string_view source, std::string_view destination);
    // An 8-byte Hop-by-Hop Options header padded with PadN.
    PacketBuilder& ipv6_hop_by_hop();
    // A Fragment header; `offset` in 8-byte units, as for ipv4_fragment().
    PacketBuilder& ipv6_fragment(std::uint16_t offset, bool more_fragments);

    PacketBuilder& tcp(std::uint16_t source_port, std::uint16_t destination_port);
    PacketBuilder& udp(std::uint16_t source_port, std::uint16_t destination_port);
    // Echo request: ICMP over IPv4, ICMPv6 over IPv6.
    PacketBuilder& icmp();
    PacketBuilder& payload(std::size_t bytes);

    Packet build() const;

private:
    enum class L3 { none, arp, ipv4, ipv6 };

    struct Ipv6Extension {
        std::uint8_t type;
        std::vector<std::uint8_t> body;  // without the next-header byte
    };

    enum class L4 { none, tcp, udp, icmp };

    std::vector<std::array<std::uint16_t, 2>> vlans_;
    L3 l3_ = L3::none;
    std::array<std::uint8_t, 16> source_{};
    std::array<std::uint8_t, 16> destination_{};
    std::size_t ipv4_options_ = 0;
    std::uint16_t ipv4_frag_off_ = 0;
    bool later_fragment_ = false;
    std::vector<Ipv6Extension> ipv6_extensions_;
    L4 l4_ = L4::none;
    std::uint16_t source_port_ = 0;
    std::uint16_t destination_port_ = 0;
    std::size_t payload_ = 0;
};

// The first `length` bytes of `packet`: a frame cut short on the wire.
Packet truncated(Packet packet, std::size_t length);

// The one's-complement sum the IPv4 header checksum uses, folded to 16 bits.
std::uint16_t internet_checksum(const std::uint8_t* data, std::size_t length);

}  // namespace sluice::bpftest
