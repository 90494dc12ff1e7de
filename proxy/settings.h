// Settings of the HTTP data path that are not quotas.
#pragma once

#include "common/cidr.h"
#include "http/host_port.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sluice {

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
    std::size_t max_connections = 0;           // client connections, all threads; 0: from the open files limit
    std::size_t max_connections_per_ip = 256;  // per address (IPv6: per /64); 0: no cap
    std::chrono::milliseconds per_ip_block_interval{0};  // a client over that cap is blocked this long; 0: off
};

}  // namespace sluice
