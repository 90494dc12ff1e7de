// The metric families of GET /metrics, one function per source of figures:
// their names, help texts and labels. render_metrics (metrics/metrics.h)
// writes them all, in this order, from the running daemon's parts.
#pragma once

#include "fleet/fleet_status.h"
#include "metrics/prometheus_text.h"
#include "xdp/controller.h"
#include "proxy/connection_limits.h"
#include "proxy/stats.h"
#include "store/redis_store_stats.h"

#include <cstddef>
#include <span>
#include <string_view>

namespace sluice {

class BlockList;
class KeptCounters;
class Policy;
struct ControlPlaneCounters;

// sluice_build_info{version}; an empty version reads "unknown".
void write_build_metrics(PrometheusText& out, std::string_view version);
// sluice_quotas, sluice_requests_total{quota,outcome}.
void write_quota_metrics(PrometheusText& out, const Policy& policy);
// sluice_proxy_requests_total{result}, sluice_upstream_errors_total{kind},
// sluice_request_duration_seconds.
void write_proxy_metrics(PrometheusText& out, const ProxyStatsSnapshot& stats);
// sluice_connections, sluice_connections_limit, sluice_connections_refused_total{reason}.
void write_connection_metrics(PrometheusText& out, const ConnectionCounts& connections);
// sluice_tracked_keys, sluice_tracked_keys_limit, sluice_key_evictions_total.
void write_store_metrics(PrometheusText& out, const KeptCounters& store);
// sluice_redis_calls_total, sluice_redis_unanswered_total{reason},
// sluice_redis_cache_refusals_total, sluice_redis_breaker_open,
// sluice_redis_breaker_opens_total, sluice_redis_call_duration_seconds.
void write_redis_metrics(PrometheusText& out, const RedisStoreStats& stats);
// sluice_fleet_sync_state{state}, sluice_fleet_lag_events, sluice_fleet_state_since_seconds,
// sluice_fleet_pending_events, sluice_fleet_events_applied_total, sluice_fleet_events_published_total,
// sluice_fleet_snapshots_total, sluice_fleet_pending_lost_total, sluice_fleet_nodes.
void write_fleet_metrics(PrometheusText& out, const FleetSyncStatus& status, std::size_t live_nodes);
// sluice_blocks, sluice_blocks_limit, sluice_blocks_lost_total.
void write_block_metrics(PrometheusText& out, const BlockList& blocks);
// sluice_config_reloads_total{result}, sluice_admin_changes_total.
void write_control_plane_metrics(PrometheusText& out, const ControlPlaneCounters& counters);
// sluice_xdp_packets_total{interface,reason}, sluice_xdp_bytes_total{interface,reason},
// sluice_xdp_block_map_full_total{interface}.
void write_xdp_metrics(PrometheusText& out, std::span<const XdpInterfaceCounters> interfaces);

}  // namespace sluice
