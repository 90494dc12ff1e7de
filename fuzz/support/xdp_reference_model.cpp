#include "fuzz/support/xdp_reference_model.h"

#include <linux/bpf.h>

#include <algorithm>
#include <utility>

namespace sluice::fuzz {
namespace {

constexpr std::size_t kEthernetHeader = 14;
constexpr std::size_t kVlanTag = 4;
constexpr std::size_t kMaxVlanTags = 2;  // 802.1Q, or QinQ (802.1ad outside 802.1Q)
constexpr std::size_t kIpv4MinHeader = 20;
constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kMaxIpv6Extensions = 6;  // a longer chain is not followed

constexpr std::uint16_t kEthertypeIpv4 = 0x0800;
constexpr std::uint16_t kEthertypeIpv6 = 0x86dd;
constexpr std::uint16_t kTpid8021q = 0x8100;
constexpr std::uint16_t kTpid8021ad = 0x88a8;

constexpr std::uint8_t kHopByHop = 0, kTcp = 6, kUdp = 17, kRouting = 43, kFragment = 44, kAuthentication = 51,
                       kDestinationOptions = 60;

// What the frame says about the rules: its source, and its destination port
// when the rules need one.
struct Reading {
    enum class Port { known, none, unknown };  // none: not TCP/UDP; unknown: cut before it

    bool ip = false;  // an IPv4 or IPv6 header, whole, with its source
    bool ipv6 = false;
    IpAddress source;
    bool later_fragment = false;  // carries no port
    Port port = Port::none;
    std::uint16_t dest_port = 0;
};

class Frame {
public:
    explicit Frame(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
    std::size_t size() const { return bytes_.size(); }
    bool holds(std::size_t offset, std::size_t length, std::size_t end) const { return offset + length <= end; }
    std::uint8_t u8(std::size_t offset) const { return bytes_[offset]; }
    std::uint16_t u16(std::size_t offset) const {
        return static_cast<std::uint16_t>(bytes_[offset] << 8 | bytes_[offset + 1]);
    }

private:
    std::span<const std::uint8_t> bytes_;
};

// TCP and UDP put the destination port in bytes 2-3; `end` is where the IP
// datagram ends (its length field, or the frame's end if that comes first).
void read_port(Reading& reading, const Frame& frame, std::uint8_t protocol, std::size_t l4, std::size_t end) {
    if (protocol != kTcp && protocol != kUdp) {
        reading.port = Reading::Port::none;
        return;
    }
    if (!frame.holds(l4, 4, end)) {
        reading.port = Reading::Port::unknown;
        return;
    }
    reading.port = Reading::Port::known;
    reading.dest_port = frame.u16(l4 + 2);
}

Reading read_ipv4(const Frame& frame, std::size_t l3) {
    Reading reading;
    if (!frame.holds(l3, kIpv4MinHeader, frame.size())) return reading;
    const std::uint8_t version = frame.u8(l3) >> 4;
    const std::size_t header = (frame.u8(l3) & 0x0f) * std::size_t{4};
    if (version != 4 || header < kIpv4MinHeader || !frame.holds(l3, header, frame.size())) return reading;
    reading.ip = true;
    reading.source.bytes[10] = reading.source.bytes[11] = 0xff;
    for (std::size_t i = 0; i < 4; ++i) reading.source.bytes[12 + i] = frame.u8(l3 + 12 + i);
    if ((frame.u16(l3 + 6) & 0x1fff) != 0) {
        reading.later_fragment = true;
        return reading;
    }
    const std::size_t end = std::min(frame.size(), l3 + frame.u16(l3 + 2));
    read_port(reading, frame, frame.u8(l3 + 9), l3 + header, end);
    return reading;
}

bool is_ipv6_extension(std::uint8_t next) {
    return next == kHopByHop || next == kRouting || next == kDestinationOptions || next == kFragment ||
           next == kAuthentication;
}

Reading read_ipv6(const Frame& frame, std::size_t l3) {
    Reading reading;
    if (!frame.holds(l3, kIpv6Header, frame.size()) || frame.u8(l3) >> 4 != 6) return reading;
    reading.ip = true;
    reading.ipv6 = true;
    for (std::size_t i = 0; i < 16; ++i) reading.source.bytes[i] = frame.u8(l3 + 8 + i);
    // A payload length of 0 is a jumbogram's: the frame says where it ends.
    const std::size_t payload = frame.u16(l3 + 4);
    const std::size_t end = payload ? std::min(frame.size(), l3 + kIpv6Header + payload) : frame.size();

    std::uint8_t next = frame.u8(l3 + 6);
    std::size_t at = l3 + kIpv6Header;
    for (std::size_t extensions = 0; is_ipv6_extension(next); ++extensions) {
        if (extensions == kMaxIpv6Extensions || !frame.holds(at, 2, end)) {
            reading.port = Reading::Port::unknown;
            return reading;
        }
        // Fragment: 8 bytes; AH: length in 4-byte units + 2; the others: 8-byte units + 1.
        const std::size_t length = next == kFragment         ? 8
                                   : next == kAuthentication ? (frame.u8(at + 1) + 2) * std::size_t{4}
                                                             : (frame.u8(at + 1) + 1) * std::size_t{8};
        if (!frame.holds(at, length, end)) {
            reading.port = Reading::Port::unknown;
            return reading;
        }
        if (next == kFragment && (frame.u16(at + 2) & 0xfff8) != 0) {
            reading.later_fragment = true;
            return reading;
        }
        next = frame.u8(at);
        at += length;
    }
    read_port(reading, frame, next, at, end);
    return reading;
}

Reading read_frame(std::span<const std::uint8_t> bytes) {
    const Frame frame(bytes);
    if (frame.size() < kEthernetHeader) return {};
    std::uint16_t ethertype = frame.u16(12);
    std::size_t at = kEthernetHeader;
    for (std::size_t tags = 0; ethertype == kTpid8021q || ethertype == kTpid8021ad; ++tags) {
        if (tags == kMaxVlanTags || !frame.holds(at, kVlanTag, frame.size())) return {};
        ethertype = frame.u16(at + 2);
        at += kVlanTag;
    }
    if (ethertype == kEthertypeIpv4) return read_ipv4(frame, at);
    if (ethertype == kEthertypeIpv6) return read_ipv6(frame, at);
    return {};
}

bool listed(const std::vector<Cidr>& list, const IpAddress& source) {
    return std::any_of(list.begin(), list.end(), [&](const Cidr& cidr) { return cidr.contains(source); });
}

XdpModelOutcome pass(sluice_stat verdict) { return {XDP_PASS, verdict, false}; }
XdpModelOutcome drop(sluice_stat verdict) { return {XDP_DROP, verdict, false}; }

}  // namespace

XdpReferenceModel::XdpReferenceModel(XdpModelSettings settings) : settings_(std::move(settings)) {
    for (const IpAddress& address : settings_.blocked) blocked_.insert(key_of(address, !address.is_v4()));
    listed_ = blocked_;
    for (const IpAddress& address : settings_.expired_blocks) listed_.insert(key_of(address, !address.is_v4()));
}

XdpReferenceModel::SourceKey XdpReferenceModel::key_of(const IpAddress& source, bool ipv6) const {
    SourceKey key = source.bytes;
    if (!ipv6) return key;
    for (unsigned bit = settings_.ipv6_prefix; bit < 128; ++bit)
        key[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    return key;
}

bool XdpReferenceModel::port_limited(std::uint16_t port) const {
    return settings_.ports.empty() ||
           std::find(settings_.ports.begin(), settings_.ports.end(), port) != settings_.ports.end();
}

XdpModelOutcome XdpReferenceModel::judge(std::span<const std::uint8_t> frame) {
    const Reading reading = read_frame(frame);
    // Not IPv4/IPv6, or cut before the source address: passes.
    if (!reading.ip) return pass(SLUICE_PASS_UNPARSED);
    if (listed(settings_.allow, reading.source)) return pass(SLUICE_PASS_ALLOWED);
    if (listed(settings_.deny, reading.source)) return drop(SLUICE_DROP_DENIED);

    const SourceKey key = key_of(reading.source, reading.ipv6);
    if (blocked_.count(key)) return drop(SLUICE_DROP_BLOCKED);

    // A later fragment has no port and is rated whatever the port filter.
    if (!settings_.ports.empty() && !reading.later_fragment) {
        if (reading.port == Reading::Port::unknown) return pass(SLUICE_PASS_UNPARSED);
        if (reading.port == Reading::Port::none || !port_limited(reading.dest_port))
            return pass(SLUICE_PASS_OTHER_PORT);
    }

    const auto tracked = sent_.find(key);
    if (tracked == sent_.end()) {
        if (settings_.new_sources == 0) return pass(SLUICE_PASS_GATED);
        --settings_.new_sources;
        sent_[key] = 1;
        return pass(SLUICE_PASS_RATE_OK);
    }
    if (tracked->second < settings_.burst) {
        ++tracked->second;
        return pass(SLUICE_PASS_RATE_OK);
    }
    XdpModelOutcome outcome = drop(SLUICE_DROP_RATE);
    if (settings_.block_on_exceed) {
        // An expired entry of the source is renewed in place: no room needed.
        // A block the full list cannot take is counted as lost and kept by
        // the source's slot in the sources table: it holds all the same while
        // the source stays tracked (always, in a case).
        if (listed_.count(key) || settings_.block_list_room > 0) {
            if (listed_.insert(key).second) --settings_.block_list_room;
        } else {
            outcome.block_lost = true;
        }
        blocked_.insert(key);
    }
    return outcome;
}

}  // namespace sluice::fuzz
