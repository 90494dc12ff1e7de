// Settings of the HTTP data path that are not quotas.
#pragma once

#include "common/cidr.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

struct ProxySettings {
    std::vector<ListenAddress> listen;
    ListenAddress upstream;  // from "http://host:port"; host may be a name
    std::vector<Cidr> trusted_proxies;
    unsigned threads = 0;  // 0 = one per core

    // Limits that keep one client from holding memory or connections.
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 1024 * 1024;
    std::size_t max_response_bytes = 64 * 1024 * 1024;
    std::chrono::milliseconds client_timeout{10'000};  // to read one request
    std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait between requests
    std::chrono::milliseconds upstream_connect_timeout{5'000};
    std::chrono::milliseconds upstream_timeout{30'000};  // to read the upstream's response
    std::size_t upstream_idle_connections = 64;          // kept per thread
    std::chrono::milliseconds drain_timeout{5'000};      // on stop, for the requests in flight
    std::size_t max_connections = 0;         // client connections, all threads; 0: from the open files limit
    std::size_t max_connections_per_ip = 256;  // per address (IPv6: per /64); 0: no cap
    std::chrono::milliseconds per_ip_block_interval{0};  // a client over that cap is blocked this long; 0: off
};

}  // namespace sluice
