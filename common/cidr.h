// IPv4/IPv6 addresses and CIDR blocks, for trusted proxies (and later the XDP
// allow/deny lists).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

// An address as 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d).
struct IpAddress {
    std::array<std::uint8_t, 16> bytes{};
    bool is_v4() const;
    std::string to_string() const;  // canonical text: dotted quad or RFC 5952
    bool operator==(const IpAddress&) const = default;
};

std::optional<IpAddress> parse_ip(std::string_view text);

struct Cidr {
    IpAddress network;    // host bits cleared
    unsigned prefix = 0;  // in bits of the 128-bit form (IPv4 /8 is stored as /104)
    bool contains(const IpAddress&) const;
    std::string to_string() const;
    bool operator==(const Cidr&) const = default;
};

// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128).
// Fails on host bits set beyond the prefix, so a typo does not widen a block.
std::optional<Cidr> parse_cidr(std::string_view text);

}  // namespace sluice
