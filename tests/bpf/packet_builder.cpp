#include "packet_builder.h"

#include <stdexcept>
#include <string>

#include <arpa/inet.h>

namespace sluice::bpftest {

namespace {

constexpr std::uint8_t kProtoHopByHop = 0;
constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoFragment = 44;
constexpr std::uint8_t kProtoIcmpv6 = 58;
constexpr std::uint8_t kProtoNone = 59;

constexpr std::size_t kTcpHeaderSize = 20;
constexpr std::size_t kUdpHeaderSize = 8;

void put16(Packet& out, std::uint16_t value) {
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
}

void put32(Packet& out, std::uint32_t value) {
    put16(out, static_cast<std::uint16_t>(value >> 16));
    put16(out, static_cast<std::uint16_t>(value));
}

void put(Packet& out, const std::uint8_t* bytes, std::size_t size) { out.insert(out.end(), bytes, bytes + size); }

bool is_ipv4_mapped(const std::array<std::uint8_t, 16>& address) {
    for (std::size_t i = 0; i < 10; ++i)
        if (address[i] != 0) return false;
    return address[10] == 0xff && address[11] == 0xff;
}

}  // namespace

std::array<std::uint8_t, 16> address_bytes(std::string_view address) {
    const std::string text(address);
    std::array<std::uint8_t, 16> bytes{};
    if (inet_pton(AF_INET6, text.c_str(), bytes.data()) == 1) return bytes;
    if (inet_pton(AF_INET, text.c_str(), &bytes[12]) == 1) {
        bytes[10] = 0xff;
        bytes[11] = 0xff;
        return bytes;
    }
    throw std::invalid_argument("not an IP address: " + text);
}

std::uint16_t internet_checksum(const std::uint8_t* data, std::size_t length) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < length; i += 2) sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
    if (length % 2) sum += static_cast<std::uint32_t>(data[length - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

PacketBuilder& PacketBuilder::vlan(std::uint16_t tpid, std::uint16_t vid) {
    vlans_.push_back({tpid, vid});
    return *this;
}

PacketBuilder& PacketBuilder::arp() {
    l3_ = L3::arp;
    return *this;
}

PacketBuilder& PacketBuilder::ipv4(std::string_view source, std::string_view destination) {
    l3_ = L3::ipv4;
    source_ = address_bytes(source);
    destination_ = address_bytes(destination);
    if (!is_ipv4_mapped(source_) || !is_ipv4_mapped(destination_))
        throw std::invalid_argument("ipv4() needs IPv4 addresses");
    return *this;
}

PacketBuilder& PacketBuilder::ipv4_options(std::size_t bytes) {
    if (bytes % 4 || bytes > 40) throw std::invalid_argument("IPv4 options are 0..40 bytes in steps of 4");
    ipv4_options_ = bytes;
    return *this;
}

PacketBuilder& PacketBuilder::ipv4_fragment(std::uint16_t offset, bool more_fragments) {
    if (offset > 0x1fff) throw std::invalid_argument("fragment offset has 13 bits");
    ipv4_frag_off_ = static_cast<std::uint16_t>((more_fragments ? 0x2000 : 0) | offset);
    later_fragment_ = offset > 0;
    return *this;
}

PacketBuilder& PacketBuilder::ipv6(std::string_view source, std::string_view destination) {
    l3_ = L3::ipv6;
    source_ = address_bytes(source);
    destination_ = address_bytes(destination);
    return *this;
}

PacketBuilder& PacketBuilder::ipv6_hop_by_hop() {
    // Header extension length 0 (8 bytes in all), filled by one PadN option.
    ipv6_extensions_.push_back({kProtoHopByHop, {0, 1, 4, 0, 0, 0, 0}});
    return *this;
}

PacketBuilder& PacketBuilder::ipv6_fragment(std::uint16_t offset, bool more_fragments) {
    if (offset > 0x1fff) throw std::invalid_argument("fragment offset has 13 bits");
    const auto offset_flags = static_cast<std::uint16_t>(offset << 3 | (more_fragments ? 1 : 0));
    later_fragment_ = offset > 0;
    ipv6_extensions_.push_back({kProtoFragment,
                                {0, static_cast<std::uint8_t>(offset_flags >> 8),
                                 static_cast<std::uint8_t>(offset_flags), 0xca, 0xfe, 0xf0, 0x0d}});
    return *this;
}

PacketBuilder& PacketBuilder::tcp(std::uint16_t source_port, std::uint16_t destination_port) {
    l4_ = L4::tcp;
    source_port_ = source_port;
    destination_port_ = destination_port;
    return *this;
}

PacketBuilder& PacketBuilder::udp(std::uint16_t source_port, std::uint16_t destination_port) {
    l4_ = L4::udp;
    source_port_ = source_port;
    destination_port_ = destination_port;
    return *this;
}

PacketBuilder& PacketBuilder::icmp() {
    l4_ = L4::icmp;
    return *this;
}

PacketBuilder& PacketBuilder::payload(std::size_t bytes) {
    payload_ = bytes;
    return *this;
}

Packet PacketBuilder::build() const {
    // L4 first: the IP headers need its length and protocol. The program
    // reads no L4 checksum, so those stay zero. A later fragment keeps the
    // protocol but carries only payload.
    const bool ipv6 = l3_ == L3::ipv6;
    const std::uint8_t protocol = l4_ == L4::tcp    ? kProtoTcp
                                  : l4_ == L4::udp  ? kProtoUdp
                                  : l4_ == L4::icmp ? (ipv6 ? kProtoIcmpv6 : kProtoIcmp)
                                                    : kProtoNone;
    Packet l4;
    switch (later_fragment_ ? L4::none : l4_) {
    case L4::none: break;
    case L4::tcp:
        put16(l4, source_port_);
        put16(l4, destination_port_);
        put32(l4, 1);                                                             // sequence
        put32(l4, 0);                                                             // acknowledgment
        put16(l4, static_cast<std::uint16_t>(kTcpHeaderSize / 4 << 12 | 0x002));  // data offset, SYN
        put16(l4, 65535);                                                         // window
        put32(l4, 0);                                                             // checksum, urgent pointer
        break;
    case L4::udp:
        put16(l4, source_port_);
        put16(l4, destination_port_);
        put16(l4, static_cast<std::uint16_t>(kUdpHeaderSize + payload_));
        put16(l4, 0);
        break;
    case L4::icmp:
        l4.push_back(ipv6 ? 128 : 8);  // echo request
        l4.push_back(0);
        put16(l4, 0);
        put32(l4, 0x00010001);  // identifier, sequence
        break;
    }
    l4.resize(l4.size() + payload_, 0xab);

    const std::uint8_t destination_mac[] = {0x02, 0, 0, 0, 0, 0x02}, source_mac[] = {0x02, 0, 0, 0, 0, 0x01};
    Packet out;
    put(out, destination_mac, 6);
    put(out, source_mac, 6);
    for (const auto& [tpid, vid] : vlans_) {
        put16(out, tpid);
        put16(out, vid & 0x0fff);
    }

    switch (l3_) {
    case L3::none: throw std::logic_error("a packet needs arp(), ipv4() or ipv6()");
    case L3::arp: {
        put16(out, kEthertypeArp);
        put16(out, 1);       // Ethernet
        put16(out, 0x0800);  // IPv4
        out.push_back(6);
        out.push_back(4);
        put16(out, 1);  // request
        const std::uint8_t sender[] = {192, 0, 2, 1}, target[] = {192, 0, 2, 2};
        put(out, source_mac, 6);
        put(out, sender, 4);
        out.insert(out.end(), 6, 0);
        put(out, target, 4);
        break;
    }
    case L3::ipv4: {
        put16(out, kEthertypeIpv4);
        const std::size_t start = out.size();
        const std::size_t header_size = kIpv4HeaderSize + ipv4_options_;
        out.push_back(static_cast<std::uint8_t>(0x40 | header_size / 4));
        out.push_back(0);
        put16(out, static_cast<std::uint16_t>(header_size + l4.size()));
        put16(out, 0x1234);  // identification
        put16(out, ipv4_frag_off_);
        out.push_back(64);
        out.push_back(protocol);
        put16(out, 0);  // checksum, filled below
        put(out, &source_[12], 4);
        put(out, &destination_[12], 4);
        out.insert(out.end(), ipv4_options_, 1);  // NOP
        const std::uint16_t checksum = internet_checksum(&out[start], header_size);
        out[start + 10] = static_cast<std::uint8_t>(checksum >> 8);
        out[start + 11] = static_cast<std::uint8_t>(checksum);
        put(out, l4.data(), l4.size());
        break;
    }
    case L3::ipv6: {
        put16(out, kEthertypeIpv6);
        std::size_t extensions_size = 0;
        for (const Ipv6Extension& extension : ipv6_extensions_) extensions_size += 1 + extension.body.size();
        put32(out, 0x60000000);
        put16(out, static_cast<std::uint16_t>(extensions_size + l4.size()));
        out.push_back(ipv6_extensions_.empty() ? protocol : ipv6_extensions_.front().type);
        out.push_back(64);
        put(out, source_.data(), 16);
        put(out, destination_.data(), 16);
        for (std::size_t i = 0; i < ipv6_extensions_.size(); ++i) {
            out.push_back(i + 1 < ipv6_extensions_.size() ? ipv6_extensions_[i + 1].type : protocol);
            put(out, ipv6_extensions_[i].body.data(), ipv6_extensions_[i].body.size());
        }
        put(out, l4.data(), l4.size());
        break;
    }
    }
    return out;
}

Packet truncated(Packet packet, std::size_t length) {
    if (length > packet.size()) throw std::invalid_argument("cannot truncate a packet to more than its length");
    packet.resize(length);
    return packet;
}

}  // namespace sluice::bpftest
