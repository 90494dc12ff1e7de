// GET /metrics: everything sluiced counts, in the Prometheus text format
// (version 0.0.4), with conventional names: the sluice_ prefix, _total for
// counters, seconds and bytes as units.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

class BlockList;
class ControlPlane;
class FleetMonitor;
class Limiter;
class KeptCounters;
class ProxyServer;
class XdpController;
struct RedisStoreStats;

struct MetricsSources {
    const Limiter& limiter;     // the policy's quotas and their counters
    const KeptCounters& store;  // tracked keys, evictions
    const ProxyServer& proxy;   // request outcomes, upstream errors, latency
    const BlockList& blocks;
    const ControlPlane& control;             // reloads, API changes
    const XdpController* xdp;                // nullptr when XDP is off
    std::string_view version = {};           // sluiced's SLUICE_VERSION; empty reads "unknown"
    const RedisStoreStats* redis = nullptr;  // nullptr with the local store
    const FleetMonitor* fleet = nullptr;     // nullptr with the local store
};

std::string render_metrics(const MetricsSources& sources);

}  // namespace sluice
