// An address to listen on or connect to: "host:port", IPv6 literals in
// brackets. Shared by the proxy, the admin API and sluicectl.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

struct ListenAddress {
    std::string host;  // IPv4 or IPv6 literal (without brackets)
    std::uint16_t port = 0;
    bool operator==(const ListenAddress&) const = default;
};

// "host:port", IPv6 literals in brackets.
std::string host_port(const ListenAddress& address);

// Parses "host:port" or "[v6]:port" (a bracketed host must be an IPv6
// literal); the port may be left out when there is a default. Port 0 is
// refused. The host is not otherwise checked: callers know whether a name
// is allowed.
std::optional<ListenAddress> parse_host_port(std::string_view text, std::optional<std::uint16_t> default_port);

}  // namespace sluice
