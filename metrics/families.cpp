#include "metrics/families.h"

#include "control/control_plane.h"
#include "xdp/abi.h"
#include "limit/block_list.h"
#include "store/kept_counters.h"
#include "limit/policy.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace sluice {

namespace {

constexpr auto kCounter = MetricType::counter;
constexpr auto kGauge = MetricType::gauge;

// A policy built without counters (tests) reads as zeros.
std::uint64_t read(const QuotaCounters* counters, QuotaCounters::Outcome outcome) {
    return counters ? counters->total(outcome) : 0;
}

// One sample per interface and verdict, of the packets or the bytes.
void write_xdp_verdicts(PrometheusText& out, std::span<const XdpInterfaceCounters> interfaces,
                        __u64 sluice_counter::*figure) {
    for (const XdpInterfaceCounters& i : interfaces) {
        for (unsigned stat = 0; stat < SLUICE_VERDICT_COUNT; ++stat)
            out.sample({{"interface", i.interface}, {"reason", xdp_stat_name(stat)}},
                       static_cast<std::uint64_t>(i.counters[stat].*figure));
    }
}

}  // namespace

void write_build_metrics(PrometheusText& out, std::string_view version) {
    out.family("sluice_build_info", kGauge, "The version of sluiced, as a label; always 1.");
    out.sample({{"version", version.empty() ? "unknown" : version}}, 1);
}

void write_quota_metrics(PrometheusText& out, const Policy& policy) {
    out.single("sluice_quotas", kGauge, "Quotas in force.", policy.quotas().size());

    constexpr std::pair<std::string_view, QuotaCounters::Outcome> outcomes[] = {
        {"allowed", QuotaCounters::Outcome::allowed},
        {"limited", QuotaCounters::Outcome::limited},
        {"dry_run", QuotaCounters::Outcome::dry_run},
    };
    out.family("sluice_requests_total", kCounter,
               "Requests each quota counted, by its own verdict: allowed, limited (refused), or dry_run (a "
               "dry-run quota would have refused).");
    for (const CompiledQuota& q : policy.quotas()) {
        for (const auto& [name, outcome] : outcomes)
            out.sample({{"quota", q.spec.name}, {"outcome", name}}, read(q.counters.get(), outcome));
    }
}

void write_proxy_metrics(PrometheusText& out, const ProxyStatsSnapshot& stats) {
    out.family("sluice_proxy_requests_total", kCounter,
               "Requests the HTTP proxy answered, by result: forwarded to the upstream, limited by a quota, "
               "blocked (the client is on the block list), unavailable (503: the quota store could not "
               "answer and store.on_error is closed), or bad_request (unreadable: 400, 413, 431).");
    out.sample({{"result", "forwarded"}}, stats.forwarded);
    out.sample({{"result", "limited"}}, stats.limited);
    out.sample({{"result", "blocked"}}, stats.blocked);
    out.sample({{"result", "unavailable"}}, stats.unavailable_refused);
    out.sample({{"result", "bad_request"}}, stats.bad_requests);

    out.family("sluice_store_unavailable_total", kCounter,
               "Requests the quota store could not answer in time, by what store.on_error made of them: "
               "forwarded (without rate-limit headers) or refused (503).");
    out.sample({{"answer", "forwarded"}}, stats.unavailable_forwarded);
    out.sample({{"answer", "refused"}}, stats.unavailable_refused);

    out.family("sluice_upstream_errors_total", kCounter,
               "Forwarded requests the upstream did not answer: timeout (504) or failure (502).");
    out.sample({{"kind", "timeout"}}, stats.upstream_timeouts);
    out.sample({{"kind", "failure"}}, stats.upstream_failures);

    out.family("sluice_request_duration_seconds", MetricType::histogram,
               "Time from the end of reading a request to the end of writing its answer.");
    out.histogram(kLatencyBounds, stats.latency.buckets, static_cast<double>(stats.latency.sum) / 1e9);
}

void write_connection_metrics(PrometheusText& out, const ConnectionCounts& connections) {
    out.single("sluice_connections", kGauge, "Client connections open.", connections.open);
    out.single("sluice_connections_limit", kGauge, "The most client connections open at once (limits.max_connections).",
               connections.limit);
    out.family("sluice_connections_refused_total", kCounter,
               "Client connections closed as soon as accepted, by the cap they were over: total "
               "(limits.max_connections) or per_ip (limits.max_connections_per_ip).");
    out.sample({{"reason", "total"}}, connections.refused_total);
    out.sample({{"reason", "per_ip"}}, connections.refused_per_ip);
}

void write_store_metrics(PrometheusText& out, const KeptCounters& store) {
    out.single("sluice_tracked_keys", kGauge,
               "Keys (a client, token or API key, per quota) the limiter holds state for.", store.tracked_keys());
    out.single("sluice_tracked_keys_limit", kGauge, "The most keys the limiter holds state for (limits.max_keys).",
               store.max_keys());
    out.single("sluice_key_evictions_total", kCounter, "Keys dropped to make room for new ones in a full key table.",
               store.evictions());
}

void write_redis_metrics(PrometheusText& out, const RedisStoreStats& stats) {
    const auto read = [](const std::atomic<std::uint64_t>& counter) { return counter.load(std::memory_order_relaxed); };
    out.single("sluice_redis_calls_total", kCounter,
               "Script calls sent to Redis (one per request it answers; a call sent again after NOSCRIPT counts "
               "twice).",
               read(stats.round_trips));
    out.family("sluice_redis_unanswered_total", kCounter,
               "Requests Redis did not answer, which store.on_error answered (the local store with \"local\"): "
               "error (an error reply or a lost connection), timeout (no answer within store.timeout), breaker_open "
               "(not asked: the circuit breaker is open).");
    out.sample({{"reason", "error"}}, read(stats.errors));
    out.sample({{"reason", "timeout"}}, read(stats.timeouts));
    out.sample({{"reason", "breaker_open"}}, read(stats.breaker_refusals));
    out.single("sluice_redis_cache_refusals_total", kCounter,
               "Requests refused without asking Redis: a key of theirs was refused before and its retry time has "
               "not come.",
               read(stats.cache_refusals));
    out.single("sluice_redis_breaker_open", kGauge,
               "Event loops whose circuit breaker is open (Redis failed repeatedly; one call a second probes it).",
               static_cast<std::uint64_t>(std::max(stats.open_breakers.load(std::memory_order_relaxed), 0)));
    out.single("sluice_redis_breaker_opens_total", kCounter, "Times a circuit breaker opened.",
               read(stats.breaker_opens));
    out.family("sluice_redis_call_duration_seconds", MetricType::histogram,
               "Script calls Redis answered, from sending to the reply.");
    RedisLatency::Snapshot latency;
    stats.latency.add_to(latency);
    out.histogram(kRedisLatencyBounds, latency.buckets, static_cast<double>(latency.sum) / 1e9);
}

void write_fleet_metrics(PrometheusText& out, const FleetSyncStatus& status, std::size_t live_nodes) {
    out.family("sluice_fleet_sync_state", kGauge,
               "The fleet sync's state, 1 for the current one and 0 for the others: in_sync (every change of the "
               "fleet's stream applied), lagging (changes not applied yet) or disconnected (Redis does not answer).");
    for (const FleetSyncState state : {FleetSyncState::in_sync, FleetSyncState::lagging, FleetSyncState::disconnected})
        out.sample({{"state", to_string(state)}}, state == status.state ? 1 : 0);
    out.single("sluice_fleet_lag_events", kGauge, "Changes in the fleet's stream not applied here yet.", status.lag);
    // The sample is unsigned: a time before 1970 reads as 0.
    const auto since = std::chrono::floor<std::chrono::seconds>(status.since.time_since_epoch()).count();
    out.single("sluice_fleet_state_since_seconds", kGauge, "When the fleet sync's state began, in Unix time.",
               static_cast<std::uint64_t>(std::max<std::int64_t>(since, 0)));
    out.single("sluice_fleet_pending_events", kGauge, "Changes made here waiting to reach the fleet (the outbox).",
               status.pending);
    out.single("sluice_fleet_events_applied_total", kCounter, "Changes from the fleet's stream applied here.",
               status.events_applied);
    out.single("sluice_fleet_events_published_total", kCounter, "Changes this host wrote to the fleet's stream.",
               status.events_published);
    out.single("sluice_fleet_snapshots_total", kCounter,
               "Full reads of the fleet's state: at start, after a gap in the stream, and to reconcile.",
               status.snapshots);
    out.single("sluice_fleet_pending_lost_total", kCounter,
               "Changes made here dropped because the outbox was full: the fleet never saw them.", status.pending_lost);
    out.single("sluice_fleet_nodes", kGauge,
               "Hosts of the fleet alive (a heartbeat within the last " + std::to_string(kFleetNodeLifetime.count()) +
                   "s), this one included.",
               live_nodes);
}

void write_block_metrics(PrometheusText& out, const BlockList& blocks) {
    out.single("sluice_blocks", kGauge, "Clients on the block list.", blocks.size());
    out.single("sluice_blocks_limit", kGauge, "The most clients the block list holds.", blocks.max_entries());
    out.single("sluice_blocks_lost_total", kCounter, "Blocks not recorded because the block list was full.",
               blocks.lost());
}

void write_control_plane_metrics(PrometheusText& out, const ControlPlaneCounters& counters) {
    out.family("sluice_config_reloads_total", kCounter,
               "Reloads of the config and quota files (SIGHUP), by result: applied, or refused (the running "
               "config stayed).");
    out.sample({{"result", "applied"}}, counters.reloads);
    out.sample({{"result", "refused"}}, counters.failed_reloads);
    out.single("sluice_admin_changes_total", kCounter, "Changes made through the admin API.", counters.api_changes);
    out.single("sluice_state_save_failures_total", kCounter,
               "Block list writes to state_dir that failed (the list stays in force, but a restart loses it).",
               counters.saves_failed);
}

void write_xdp_metrics(PrometheusText& out, std::span<const XdpInterfaceCounters> interfaces) {
    out.family("sluice_xdp_packets_total", kCounter, "Packets the XDP program saw, by interface and verdict.");
    write_xdp_verdicts(out, interfaces, &sluice_counter::packets);
    out.family("sluice_xdp_bytes_total", kCounter,
               "Bytes of the packets the XDP program saw, by interface and verdict.");
    write_xdp_verdicts(out, interfaces, &sluice_counter::bytes);

    static_assert(SLUICE_STAT_COUNT == SLUICE_EVENT_BLOCK_FULL + 1, "a new XDP event needs its metric family");
    out.family("sluice_xdp_block_map_full_total", kCounter,
               "Blocks the XDP program could not record because its block map was full.");
    for (const XdpInterfaceCounters& i : interfaces)
        out.sample({{"interface", i.interface}},
                   static_cast<std::uint64_t>(i.counters[SLUICE_EVENT_BLOCK_FULL].packets));
}

}  // namespace sluice
