// One client connection of the proxy: reads its requests one after the
// other, asks the limiter (and its loop's quota store) about each, answers
// the refused ones itself and forwards the others upstream.
#pragma once

#include "common/cidr.h"
#include "http/timed_socket.h"
#include "limit/limiter.h"
#include "proxy/connection_limits.h"
#include "proxy/drain.h"
#include "proxy/settings.h"
#include "proxy/stats.h"
#include "proxy/upstream_pool.h"

#include <cstdint>
#include <vector>

namespace sluice {

// The trusted proxies as one thread holds them; a reload posts a new list
// to each thread, and its sessions look again when the generation moved.
struct TrustedProxies {
    std::vector<Cidr> cidrs;
    std::uint64_t generation = 0;
};

// What every connection of one thread shares.
struct ThreadContext {
    const ProxySettings& settings;
    const Limiter& limiter;
    QuotaStoreHandle& store;
    UpstreamPool& pool;
    ProxyStats& stats;
    const TrustedProxies& trusted;
    ConnectionLimits& limits;
    Drain& drain;
};

// `slot` holds the connection's place under the connection limits while it lives.
ProxyTask<void> serve_connection(ProxySocket socket, ConnectionLimits::Slot slot, const ThreadContext& context);

// A socket address's IP as the limiter and the connection limits key it.
IpAddress to_ip_address(const boost::asio::ip::address& address);

}  // namespace sluice
