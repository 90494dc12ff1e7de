#include "common/cidr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace sluice {
namespace {

constexpr unsigned kV4MappedBits = 96;  // ::ffff:0:0/96

// The part of byte `byte` (0 = most significant) that lies inside the prefix.
std::uint8_t prefix_mask(unsigned prefix, std::size_t byte) {
    const unsigned start = static_cast<unsigned>(byte) * 8;
    if (prefix >= start + 8) return 0xff;
    if (prefix <= start) return 0;
    return static_cast<std::uint8_t>(0xff << (8 - (prefix - start)));
}

}  // namespace

bool IpAddress::is_v4() const {
    return std::all_of(bytes.begin(), bytes.begin() + 10, [](std::uint8_t b) { return b == 0; }) && bytes[10] == 0xff &&
           bytes[11] == 0xff;
}

std::string IpAddress::to_string() const {
    char text[INET6_ADDRSTRLEN];
    const bool v4 = is_v4();
    inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? bytes.data() + 12 : bytes.data(), text, sizeof text);
    return text;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
    const std::string s(text);  // inet_pton needs a terminated string
    if (s.find('\0') != std::string::npos) return std::nullopt;
    IpAddress ip;
    if (inet_pton(AF_INET, s.c_str(), ip.bytes.data() + 12) == 1) {
        ip.bytes[10] = ip.bytes[11] = 0xff;
        return ip;
    }
    if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) return ip;
    return std::nullopt;
}

bool Cidr::contains(const IpAddress& ip) const {
    for (std::size_t i = 0; i < ip.bytes.size(); ++i)
        if ((ip.bytes[i] & prefix_mask(prefix, i)) != network.bytes[i]) return false;
    return true;
}

std::string Cidr::to_string() const {
    const bool v4 = network.is_v4() && prefix >= kV4MappedBits;
    return network.to_string() + '/' + std::to_string(v4 ? prefix - kV4MappedBits : prefix);
}

std::optional<Cidr> parse_cidr(std::string_view text) {
    const std::size_t slash = text.find('/');
    const std::string_view address = text.substr(0, slash);
    const std::optional<IpAddress> ip = parse_ip(address);
    if (!ip) return std::nullopt;
    const bool v4_text = address.find(':') == std::string_view::npos;

    unsigned prefix = 128;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        unsigned bits = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
        if (bits > (v4_text ? 32u : 128u)) return std::nullopt;
        prefix = v4_text ? kV4MappedBits + bits : bits;
    }
    for (std::size_t i = 0; i < ip->bytes.size(); ++i)
        if (ip->bytes[i] & ~prefix_mask(prefix, i)) return std::nullopt;
    return Cidr{*ip, prefix};
}

}  // namespace sluice
