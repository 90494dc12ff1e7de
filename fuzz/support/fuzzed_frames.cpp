#include "fuzz/support/fuzzed_frames.h"

#include <algorithm>
#include <array>

namespace sluice::fuzz {
namespace {

constexpr std::size_t kEthernetHeader = 14;
constexpr std::size_t kMinimumFrame = 60;  // what a NIC pads short frames to
constexpr std::uint8_t kRawFrame = 0xe0;   // a first byte at or above this: the frame follows raw
constexpr std::size_t kMaxRawFrame = 1514;

// Reads the input front to back; past its end every byte is 0.
class ByteReader {
public:
    explicit ByteReader(std::span<const std::uint8_t> input) : input_(input) {}
    bool empty() const { return at_ >= input_.size(); }
    std::uint8_t u8() { return at_ < input_.size() ? input_[at_++] : 0; }
    std::uint16_t u16() {
        const std::uint8_t high = u8();
        return static_cast<std::uint16_t>(high << 8 | u8());
    }
    std::span<const std::uint8_t> bytes(std::size_t n) {
        n = std::min(n, input_.size() - std::min(at_, input_.size()));
        const auto out = input_.subspan(std::min(at_, input_.size()), n);
        at_ += n;
        return out;
    }

private:
    std::span<const std::uint8_t> input_;
    std::size_t at_ = 0;
};

void put16(Frame& out, std::uint16_t value) {
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
}

void put32(Frame& out, std::uint32_t value) {
    put16(out, static_cast<std::uint16_t>(value >> 16));
    put16(out, static_cast<std::uint16_t>(value));
}

void set16(Frame& out, std::size_t offset, std::uint16_t value) {
    out[offset] = static_cast<std::uint8_t>(value >> 8);
    out[offset + 1] = static_cast<std::uint8_t>(value);
}

// Fields made wrong, one bit each in the description's "damage" byte.
enum Damage : std::uint8_t {
    kWrongVersion = 1,   // IP version nibble from the input
    kWrongIhl = 2,       // IPv4 IHL from the input
    kWrongLength = 4,    // IPv4 total length / IPv6 payload length from the input
    kPadded = 8,         // padded to 60 bytes, as a NIC pads a short frame
    kOddProtocol = 16,   // L4 protocol number from the input
    kOddEthertype = 32,  // ethertype (after the tags) from the input
};

IpAddress pick_source(ByteReader& in, std::span<const IpAddress> sources, bool ipv6) {
    const std::uint8_t choice = in.u8();
    if (!sources.empty() && choice < 0xf0) {
        // Prefer a source of the frame's family; a mismatch (an IPv4 source in
        // an IPv6 header) becomes its IPv4-mapped form.
        for (std::size_t i = 0; i < sources.size(); ++i) {
            const IpAddress& candidate = sources[(choice + i) % sources.size()];
            if (candidate.is_v4() != ipv6) return candidate;
        }
        return sources[choice % sources.size()];
    }
    IpAddress address;
    if (ipv6) {
        for (auto& byte : address.bytes) byte = in.u8();
    } else {
        address.bytes[10] = address.bytes[11] = 0xff;
        for (std::size_t i = 12; i < 16; ++i) address.bytes[i] = in.u8();
    }
    return address;
}

std::uint16_t pick_port(ByteReader& in) {
    static constexpr std::array<std::uint16_t, 6> common = {80, 443, 22, 53, 0, 65535};
    const std::uint8_t choice = in.u8();
    return choice < common.size() * 32 ? common[choice % common.size()] : in.u16();
}

// The L4 header and payload; `protocol` picks the layout.
Frame l4_bytes(ByteReader& in, std::uint8_t protocol, bool ipv6) {
    Frame l4;
    const std::uint16_t source_port = 40000, dest_port = pick_port(in);
    switch (protocol) {
    case 6:  // TCP SYN
        put16(l4, source_port);
        put16(l4, dest_port);
        put32(l4, 1);
        put32(l4, 0);
        put16(l4, 0x5002);
        put16(l4, 65535);
        put32(l4, 0);
        break;
    case 17:
        put16(l4, source_port);
        put16(l4, dest_port);
        put16(l4, 8);
        put16(l4, 0);
        break;
    default:  // ICMP echo or anything else: 8 bytes of header
        l4.push_back(ipv6 ? 128 : 8);
        l4.push_back(0);
        put16(l4, 0);
        put32(l4, 0x00010001);
        break;
    }
    l4.resize(l4.size() + in.u8() % 64, 0xab);
    if (protocol == 17) set16(l4, 4, static_cast<std::uint16_t>(l4.size()));
    return l4;
}

std::uint8_t pick_protocol(ByteReader& in, std::uint8_t damage, bool ipv6) {
    static constexpr std::array<std::uint8_t, 4> v4 = {6, 17, 1, 6}, v6 = {6, 17, 58, 6};
    const std::uint8_t choice = in.u8();
    if (damage & kOddProtocol) return choice;
    return (ipv6 ? v6 : v4)[choice % 4];
}

void append_ipv4(Frame& out, ByteReader& in, std::span<const IpAddress> sources, std::uint8_t damage) {
    const IpAddress source = pick_source(in, sources, false);
    const std::size_t options = in.u8() % 11 * std::size_t{4};
    const std::uint8_t fragment = in.u8();
    // Offset 0 (a whole datagram or a first fragment), 1, 185 or any.
    static constexpr std::array<std::uint16_t, 3> offsets = {0, 1, 185};
    const std::uint16_t offset = fragment % 4 < 3 ? offsets[fragment % 4] : in.u16() & 0x1fff;
    const bool more_fragments = fragment & 4;
    const std::uint8_t protocol = pick_protocol(in, damage, false);
    const std::uint8_t version = damage & kWrongVersion ? in.u8() >> 4 : 4;
    const std::uint8_t ihl = damage & kWrongIhl ? in.u8() & 0x0f : static_cast<std::uint8_t>(5 + options / 4);
    const std::uint16_t length_override = damage & kWrongLength ? in.u16() : 0;
    const Frame l4 = l4_bytes(in, protocol, false);

    out.push_back(static_cast<std::uint8_t>(version << 4 | ihl));
    out.push_back(0);
    put16(out, damage & kWrongLength ? length_override : static_cast<std::uint16_t>(20 + options + l4.size()));
    put16(out, 0x1234);
    put16(out, static_cast<std::uint16_t>((more_fragments ? 0x2000 : 0) | offset));
    out.push_back(64);
    out.push_back(protocol);
    put16(out, 0);  // checksum: the program does not read it
    out.insert(out.end(), source.bytes.begin() + 12, source.bytes.end());
    put32(out, 0xc6336401);             // 198.51.100.1
    out.insert(out.end(), options, 1);  // NOP
    out.insert(out.end(), l4.begin(), l4.end());
}

void append_ipv6(Frame& out, ByteReader& in, std::span<const IpAddress> sources, std::uint8_t damage) {
    const IpAddress source = pick_source(in, sources, true);
    const std::uint8_t version = damage & kWrongVersion ? in.u8() >> 4 : 6;
    const std::uint16_t length_override = damage & kWrongLength ? in.u16() : 0;

    // Extension headers: the type, then its bytes after the next-header byte.
    struct Extension {
        std::uint8_t type;
        Frame body;
    };
    std::vector<Extension> extensions(in.u8() % 9);
    static constexpr std::array<std::uint8_t, 6> types = {0, 43, 60, 44, 51, 0};
    for (Extension& extension : extensions) {
        const std::uint8_t choice = in.u8();
        extension.type = choice % 8 < types.size() ? types[choice % 8] : in.u8();
        if (extension.type == 44) {
            static constexpr std::array<std::uint16_t, 3> offsets = {0, 1, 185};
            const std::uint16_t offset = choice / 8 % 4 < 3 ? offsets[choice / 8 % 4] : in.u16() & 0x1fff;
            const auto offset_flags = static_cast<std::uint16_t>(offset << 3 | (choice & 0x80 ? 1 : 0));
            extension.body = {0,
                              static_cast<std::uint8_t>(offset_flags >> 8),
                              static_cast<std::uint8_t>(offset_flags),
                              0xca,
                              0xfe,
                              0xf0,
                              0x0d};
        } else {
            // Length 0..3 units; AH counts 4-byte units beyond the first 8.
            const std::uint8_t units = choice / 32 % 4;
            const std::size_t total =
                extension.type == 51 ? (units + 2) * std::size_t{4} : (units + 1) * std::size_t{8};
            extension.body.assign(total - 1, 0);
            extension.body[0] = units;
            if (extension.type != 51 && total >= 8) {  // PadN over the rest
                extension.body[1] = 1;
                extension.body[2] = static_cast<std::uint8_t>(total - 4);
            }
        }
    }
    const std::uint8_t protocol = pick_protocol(in, damage, true);
    const Frame l4 = l4_bytes(in, protocol, true);

    std::size_t payload = l4.size();
    for (const Extension& extension : extensions) payload += 1 + extension.body.size();
    put32(out, static_cast<std::uint32_t>(version) << 28);
    put16(out, damage & kWrongLength ? length_override : static_cast<std::uint16_t>(payload));
    out.push_back(extensions.empty() ? protocol : extensions.front().type);
    out.push_back(64);
    out.insert(out.end(), source.bytes.begin(), source.bytes.end());
    const std::array<std::uint8_t, 16> destination = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    out.insert(out.end(), destination.begin(), destination.end());
    for (std::size_t i = 0; i < extensions.size(); ++i) {
        out.push_back(i + 1 < extensions.size() ? extensions[i + 1].type : protocol);
        out.insert(out.end(), extensions[i].body.begin(), extensions[i].body.end());
    }
    out.insert(out.end(), l4.begin(), l4.end());
}

// kind: bits 0-1 VLAN tags (0-3), bits 2-3 the L3 (IPv4, IPv6, IPv4, ARP),
// bit 4 a damage byte follows, bit 5 a cut follows.
Frame described_frame(std::uint8_t kind, ByteReader& in, std::span<const IpAddress> sources) {
    Frame out = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
    const std::size_t tags = kind & 3;
    const std::uint8_t tpids = tags ? in.u8() : 0;
    for (std::size_t i = 0; i < tags; ++i) {
        put16(out, tpids >> i & 1 ? 0x88a8 : 0x8100);
        put16(out, static_cast<std::uint16_t>(10 + i));
    }
    const std::uint8_t damage = kind & 0x10 ? in.u8() : 0;
    const unsigned l3 = kind >> 2 & 3;
    std::uint16_t ethertype = l3 == 1 ? 0x86dd : l3 == 3 ? 0x0806 : 0x0800;
    if (damage & kOddEthertype) ethertype = in.u16();
    put16(out, ethertype);
    if (l3 == 1) {
        append_ipv6(out, in, sources, damage);
    } else if (l3 == 3) {
        out.insert(out.end(), 28, 0);  // an ARP body; its content does not matter
    } else {
        append_ipv4(out, in, sources, damage);
    }
    if (damage & kPadded && out.size() < kMinimumFrame) out.resize(kMinimumFrame, 0);
    if (kind & 0x20) {
        const std::uint16_t cut = in.u16();
        out.resize(kEthernetHeader + cut % (out.size() - kEthernetHeader + 1));
    }
    return out;
}

}  // namespace

std::vector<Frame> decode_frames(std::span<const std::uint8_t> input, std::span<const IpAddress> sources,
                                 std::size_t max_frames) {
    ByteReader in(input);
    std::vector<Frame> frames;
    while (!in.empty() && frames.size() < max_frames) {
        const std::uint8_t kind = in.u8();
        if (kind >= kRawFrame) {
            const auto raw = in.bytes(in.u16() % (kMaxRawFrame + 1));
            Frame frame(raw.begin(), raw.end());
            if (frame.size() < kEthernetHeader) frame.resize(kEthernetHeader, 0);
            frames.push_back(std::move(frame));
        } else {
            frames.push_back(described_frame(kind, in, sources));
        }
    }
    return frames;
}

}  // namespace sluice::fuzz
