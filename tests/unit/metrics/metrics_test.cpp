#include "control/control_plane.h"
#include "store/local_store.h"
#include "metrics/families.h"
#include "metrics/metrics.h"
#include "proxy/proxy_server.h"

#include "tests/support/fake_clock.h"
#include "tests/support/fake_fleet_monitor.h"
#include "tests/support/prometheus_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

using namespace std::chrono_literals;

namespace sluice {
namespace {

using testing::exposition_problems;
using ::testing::IsEmpty;

IpAddress ip(std::string_view text) { return *parse_ip(text); }
Nanos ns(std::chrono::nanoseconds d) { return d.count(); }

// The running daemon's parts, as sluiced wires them, with quotas from a
// "config file" and one made through the API.
class MetricsTest : public ::testing::Test {
protected:
    void SetUp() override {
        Quota per_ip = testing::make_quota("per-ip", "/v1/*", 2, 1min, Algorithm::fixed_window);
        Quota shadow = testing::make_quota("shadow", "/api/*", 1, 1min, Algorithm::fixed_window);
        shadow.mode = QuotaMode::dry_run;
        config.quotas = {per_ip, shadow};
        config.quota_sources = {"sluice.json", "sluice.json"};
        control.start(config);
    }
    bool request(std::string_view path) { return limiter.decide({"GET", path, "192.0.2.1", nullptr}, store).allowed; }
    std::string render(std::string_view version) {
        return render_metrics({limiter, store, proxy, blocks, control, nullptr, version});
    }

    testing::FakeClock clock;
    LocalStore store{1000};
    Limiter limiter{std::make_shared<const Policy>(std::vector<Quota>{}, HeaderStyle::draft), store, clock,
                    KeyedHasher(1, 2)};
    BlockList blocks{2};
    // Not started: its counters are zero.
    ProxyServer proxy{ProxySettings{}, limiter, [this](boost::asio::io_context&) {
                          return std::shared_ptr<QuotaStoreHandle>(std::shared_ptr<void>(), &store);
                      }};
    ControlPlane control{limiter, blocks, nullptr, clock};
    Config config;
};

TEST_F(MetricsTest, EveryFamilyInOrderWithTheDaemonsFigures) {
    EXPECT_TRUE(request("/v1/a"));
    EXPECT_TRUE(request("/v1/a"));
    EXPECT_FALSE(request("/v1/a"));
    EXPECT_TRUE(request("/api/x"));
    EXPECT_TRUE(request("/api/x")) << "a dry-run quota never refuses";

    // Quota counters survive policy changes: an API quota and a reload.
    ASSERT_TRUE(control.put_quota(testing::make_quota("from-api", "/admin/*", 5, 1s)).ok());
    ASSERT_THAT(control.reload(config), IsEmpty());
    control.count_failed_reload();

    EXPECT_TRUE(blocks.add(ip("192.0.2.7"), clock.now() + ns(1s), "api"));
    EXPECT_TRUE(blocks.add(ip("192.0.2.8"), clock.now() + ns(1h), "api"));
    blocks.client_blocked(ip("192.0.2.9"), clock.now() + ns(1h), "quota:per-ip");  // full: lost
    clock.advance(2s);
    blocks.expire(clock.now());

    EXPECT_EQ(render("1.2.3"),
              "# HELP sluice_build_info The version of sluiced, as a label; always 1.\n"
              "# TYPE sluice_build_info gauge\n"
              "sluice_build_info{version=\"1.2.3\"} 1\n"
              "# HELP sluice_quotas Quotas in force.\n"
              "# TYPE sluice_quotas gauge\n"
              "sluice_quotas 3\n"
              "# HELP sluice_requests_total Requests each quota counted, by its own verdict: allowed, limited "
              "(refused), or dry_run (a dry-run quota would have refused).\n"
              "# TYPE sluice_requests_total counter\n"
              "sluice_requests_total{quota=\"per-ip\",outcome=\"allowed\"} 2\n"
              "sluice_requests_total{quota=\"per-ip\",outcome=\"limited\"} 1\n"
              "sluice_requests_total{quota=\"per-ip\",outcome=\"dry_run\"} 0\n"
              "sluice_requests_total{quota=\"shadow\",outcome=\"allowed\"} 1\n"
              "sluice_requests_total{quota=\"shadow\",outcome=\"limited\"} 0\n"
              "sluice_requests_total{quota=\"shadow\",outcome=\"dry_run\"} 1\n"
              "sluice_requests_total{quota=\"from-api\",outcome=\"allowed\"} 0\n"
              "sluice_requests_total{quota=\"from-api\",outcome=\"limited\"} 0\n"
              "sluice_requests_total{quota=\"from-api\",outcome=\"dry_run\"} 0\n"
              "# HELP sluice_proxy_requests_total Requests the HTTP proxy answered, by result: forwarded to the "
              "upstream, limited by a quota, blocked (the client is on the block list), unavailable (503: "
              "the quota store could not answer and store.on_error is closed), or bad_request (unreadable: 400, "
              "413, 431).\n"
              "# TYPE sluice_proxy_requests_total counter\n"
              "sluice_proxy_requests_total{result=\"forwarded\"} 0\n"
              "sluice_proxy_requests_total{result=\"limited\"} 0\n"
              "sluice_proxy_requests_total{result=\"blocked\"} 0\n"
              "sluice_proxy_requests_total{result=\"unavailable\"} 0\n"
              "sluice_proxy_requests_total{result=\"bad_request\"} 0\n"
              "# HELP sluice_store_unavailable_total Requests the quota store could not answer in time, by what "
              "store.on_error made of them: forwarded (without rate-limit headers) or refused (503).\n"
              "# TYPE sluice_store_unavailable_total counter\n"
              "sluice_store_unavailable_total{answer=\"forwarded\"} 0\n"
              "sluice_store_unavailable_total{answer=\"refused\"} 0\n"
              "# HELP sluice_upstream_errors_total Forwarded requests the upstream did not answer: timeout (504) "
              "or failure (502).\n"
              "# TYPE sluice_upstream_errors_total counter\n"
              "sluice_upstream_errors_total{kind=\"timeout\"} 0\n"
              "sluice_upstream_errors_total{kind=\"failure\"} 0\n"
              "# HELP sluice_request_duration_seconds Time from the end of reading a request to the end of "
              "writing its answer.\n"
              "# TYPE sluice_request_duration_seconds histogram\n"
              "sluice_request_duration_seconds_bucket{le=\"0.0001\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"0.00025\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"0.0005\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"0.001\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"0.0025\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"0.005\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"0.01\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"0.025\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"0.05\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"0.1\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"0.25\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"0.5\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"1\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"5\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"+Inf\"} 0\n"
              "sluice_request_duration_seconds_sum 0\n"
              "sluice_request_duration_seconds_count 0\n"
              "# HELP sluice_connections Client connections open.\n"
              "# TYPE sluice_connections gauge\n"
              "sluice_connections 0\n"
              "# HELP sluice_connections_limit The most client connections open at once (limits.max_connections).\n"
              "# TYPE sluice_connections_limit gauge\n"
              "sluice_connections_limit 0\n"
              "# HELP sluice_connections_refused_total Client connections closed as soon as accepted, by the cap "
              "they were over: total (limits.max_connections) or per_ip (limits.max_connections_per_ip).\n"
              "# TYPE sluice_connections_refused_total counter\n"
              "sluice_connections_refused_total{reason=\"total\"} 0\n"
              "sluice_connections_refused_total{reason=\"per_ip\"} 0\n"
              "# HELP sluice_tracked_keys Keys (a client, token or API key, per quota) the limiter holds state "
              "for.\n"
              "# TYPE sluice_tracked_keys gauge\n"
              "sluice_tracked_keys 2\n"
              "# HELP sluice_tracked_keys_limit The most keys the limiter holds state for (limits.max_keys).\n"
              "# TYPE sluice_tracked_keys_limit gauge\n"
              "sluice_tracked_keys_limit 1000\n"
              "# HELP sluice_key_evictions_total Keys dropped to make room for new ones in a full key table.\n"
              "# TYPE sluice_key_evictions_total counter\n"
              "sluice_key_evictions_total 0\n"
              "# HELP sluice_blocks Clients on the block list.\n"
              "# TYPE sluice_blocks gauge\n"
              "sluice_blocks 1\n"
              "# HELP sluice_blocks_limit The most clients the block list holds.\n"
              "# TYPE sluice_blocks_limit gauge\n"
              "sluice_blocks_limit 2\n"
              "# HELP sluice_blocks_lost_total Blocks not recorded because the block list was full.\n"
              "# TYPE sluice_blocks_lost_total counter\n"
              "sluice_blocks_lost_total 1\n"
              "# HELP sluice_config_reloads_total Reloads of the config and quota files (SIGHUP), by result: "
              "applied, or refused (the running config stayed).\n"
              "# TYPE sluice_config_reloads_total counter\n"
              "sluice_config_reloads_total{result=\"applied\"} 1\n"
              "sluice_config_reloads_total{result=\"refused\"} 1\n"
              "# HELP sluice_admin_changes_total Changes made through the admin API.\n"
              "# TYPE sluice_admin_changes_total counter\n"
              "sluice_admin_changes_total 1\n"
              "# HELP sluice_state_save_failures_total Block list writes to state_dir that failed (the list stays in "
              "force, but a restart loses it).\n"
              "# TYPE sluice_state_save_failures_total counter\n"
              "sluice_state_save_failures_total 0\n");
}

TEST_F(MetricsTest, OutputParsesAndHasNoXdpOrFleetFamiliesWithoutThem) {
    request("/v1/a");
    const std::string text = render("1.2.3");
    EXPECT_THAT(exposition_problems(text), IsEmpty()) << text;
    EXPECT_EQ(text.find("sluice_xdp_"), std::string::npos);
    EXPECT_EQ(text.find("sluice_fleet_"), std::string::npos);
}

// A Redis host's: the fleet families come after the store's, before the blocks'.
TEST_F(MetricsTest, TheFleetFamiliesWithAFleet) {
    testing::FakeFleetMonitor fleet;
    fleet.sync.state = FleetSyncState::in_sync;
    fleet.live.resize(3);
    const std::string text =
        render_metrics({limiter, store, proxy, blocks, control, nullptr, "1.2.3", nullptr, &fleet});
    EXPECT_THAT(exposition_problems(text), IsEmpty()) << text;
    EXPECT_THAT(text, ::testing::HasSubstr("\nsluice_key_evictions_total 0\n"
                                           "# HELP sluice_fleet_sync_state "));
    EXPECT_THAT(text, ::testing::HasSubstr("\nsluice_fleet_sync_state{state=\"in_sync\"} 1\n"));
    EXPECT_THAT(text, ::testing::HasSubstr("\nsluice_fleet_nodes 3\n"
                                           "# HELP sluice_blocks "));
}

TEST_F(MetricsTest, KeyEvictionsCountWhenTheKeyTableIsFull) {
    LocalStore small{1000};
    Limiter tight{limiter.policy(), small, clock, KeyedHasher(1, 2)};
    for (int client = 0; client < 1500; ++client) {
        const std::string address = "10.0." + std::to_string(client / 256) + "." + std::to_string(client % 256);
        tight.decide({"GET", "/v1/a", address, nullptr}, small);
    }
    ASSERT_GT(small.evictions(), 0u);
    PrometheusText out;
    write_store_metrics(out, small);
    EXPECT_NE(out.text().find("\nsluice_key_evictions_total " + std::to_string(small.evictions()) + "\n"),
              std::string::npos)
        << out.text();
    EXPECT_NE(out.text().find("\nsluice_tracked_keys " + std::to_string(small.tracked_keys()) + "\n"),
              std::string::npos)
        << out.text();
}

TEST(BuildMetrics, VersionIsAnEscapedLabelOrUnknown) {
    PrometheusText out;
    write_build_metrics(out, "");
    write_build_metrics(out, "2.0 \"dev\" C:\\x\n");
    EXPECT_THAT(out.text(), ::testing::HasSubstr("\nsluice_build_info{version=\"unknown\"} 1\n"));
    EXPECT_THAT(out.text(), ::testing::HasSubstr("\nsluice_build_info{version=\"2.0 \\\"dev\\\" C:\\\\x\\n\"} 1\n"));
}

// The sample lines of an exposition, without HELP and TYPE.
std::string samples(const std::string& text) {
    std::string kept;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start) + 1;
        if (text[start] != '#') kept += text.substr(start, end - start);
        start = end;
    }
    return kept;
}

TEST(RedisMetrics, CallsWhatWentUnansweredAndWhyTheCacheTheBreakerAndCallLatency) {
    RedisStoreStats stats;
    for (int i = 0; i < 7; ++i) RedisStoreStats::count(stats.round_trips);
    RedisStoreStats::count(stats.errors);
    for (int i = 0; i < 2; ++i) RedisStoreStats::count(stats.timeouts);
    for (int i = 0; i < 3; ++i) RedisStoreStats::count(stats.breaker_refusals);
    for (int i = 0; i < 4; ++i) RedisStoreStats::count(stats.cache_refusals);
    RedisStoreStats::count(stats.breaker_opens);
    stats.open_breakers = 2;
    for (Nanos latency : {ns(40us), ns(300us), ns(2s)}) stats.latency.record(latency);

    PrometheusText out;
    write_redis_metrics(out, stats);
    EXPECT_EQ(samples(out.text()),
              "sluice_redis_calls_total 7\n"
              "sluice_redis_unanswered_total{reason=\"error\"} 1\n"
              "sluice_redis_unanswered_total{reason=\"timeout\"} 2\n"
              "sluice_redis_unanswered_total{reason=\"breaker_open\"} 3\n"
              "sluice_redis_cache_refusals_total 4\n"
              "sluice_redis_breaker_open 2\n"
              "sluice_redis_breaker_opens_total 1\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"5e-05\"} 1\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"0.0001\"} 1\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"0.00025\"} 1\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"0.0005\"} 2\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"0.00075\"} 2\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"0.001\"} 2\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"0.0025\"} 2\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"0.005\"} 2\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"0.01\"} 2\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"0.025\"} 2\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"0.05\"} 2\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"0.1\"} 2\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"0.25\"} 2\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"1\"} 2\n"
              "sluice_redis_call_duration_seconds_bucket{le=\"+Inf\"} 3\n"
              "sluice_redis_call_duration_seconds_sum 2.00034\n"
              "sluice_redis_call_duration_seconds_count 3\n");
    EXPECT_THAT(exposition_problems(out.text()), IsEmpty());
}

TEST(FleetMetrics, TheSyncStateItsLagSinceWhenThePendingChangesTheCountersAndTheLiveHosts) {
    FleetSyncStatus status;
    status.state = FleetSyncState::lagging;
    status.lag = 12;
    status.since = std::chrono::system_clock::time_point(1'796'506'165s + 900ms);
    status.applied_seq = 5000;  // the stream's change number: not a metric
    status.pending = 4;
    status.events_applied = 4990;
    status.events_published = 37;
    status.snapshots = 2;
    status.pending_lost = 1;

    PrometheusText out;
    write_fleet_metrics(out, status, 3);
    EXPECT_EQ(out.text(),
              "# HELP sluice_fleet_sync_state The fleet sync's state, 1 for the current one and 0 for the others: "
              "in_sync (every change of the fleet's stream applied), lagging (changes not applied yet) or "
              "disconnected (Redis does not answer).\n"
              "# TYPE sluice_fleet_sync_state gauge\n"
              "sluice_fleet_sync_state{state=\"in_sync\"} 0\n"
              "sluice_fleet_sync_state{state=\"lagging\"} 1\n"
              "sluice_fleet_sync_state{state=\"disconnected\"} 0\n"
              "# HELP sluice_fleet_lag_events Changes in the fleet's stream not applied here yet.\n"
              "# TYPE sluice_fleet_lag_events gauge\n"
              "sluice_fleet_lag_events 12\n"
              "# HELP sluice_fleet_state_since_seconds When the fleet sync's state began, in Unix time.\n"
              "# TYPE sluice_fleet_state_since_seconds gauge\n"
              "sluice_fleet_state_since_seconds 1796506165\n"
              "# HELP sluice_fleet_pending_events Changes made here waiting to reach the fleet (the outbox).\n"
              "# TYPE sluice_fleet_pending_events gauge\n"
              "sluice_fleet_pending_events 4\n"
              "# HELP sluice_fleet_events_applied_total Changes from the fleet's stream applied here.\n"
              "# TYPE sluice_fleet_events_applied_total counter\n"
              "sluice_fleet_events_applied_total 4990\n"
              "# HELP sluice_fleet_events_published_total Changes this host wrote to the fleet's stream.\n"
              "# TYPE sluice_fleet_events_published_total counter\n"
              "sluice_fleet_events_published_total 37\n"
              "# HELP sluice_fleet_snapshots_total Full reads of the fleet's state: at start, after a gap in the "
              "stream, and to reconcile.\n"
              "# TYPE sluice_fleet_snapshots_total counter\n"
              "sluice_fleet_snapshots_total 2\n"
              "# HELP sluice_fleet_pending_lost_total Changes made here dropped because the outbox was full: the "
              "fleet never saw them.\n"
              "# TYPE sluice_fleet_pending_lost_total counter\n"
              "sluice_fleet_pending_lost_total 1\n"
              "# HELP sluice_fleet_nodes Hosts of the fleet alive (a heartbeat within the last 10s), this one "
              "included.\n"
              "# TYPE sluice_fleet_nodes gauge\n"
              "sluice_fleet_nodes 3\n");
    EXPECT_THAT(exposition_problems(out.text()), IsEmpty());
}

// Before the fleet sync starts: disconnected, since a time never set.
TEST(FleetMetrics, AStatusNeverSetReadsAsDisconnectedSince0) {
    PrometheusText out;
    write_fleet_metrics(out, FleetSyncStatus{}, 0);
    EXPECT_EQ(samples(out.text()),
              "sluice_fleet_sync_state{state=\"in_sync\"} 0\n"
              "sluice_fleet_sync_state{state=\"lagging\"} 0\n"
              "sluice_fleet_sync_state{state=\"disconnected\"} 1\n"
              "sluice_fleet_lag_events 0\n"
              "sluice_fleet_state_since_seconds 0\n"
              "sluice_fleet_pending_events 0\n"
              "sluice_fleet_events_applied_total 0\n"
              "sluice_fleet_events_published_total 0\n"
              "sluice_fleet_snapshots_total 0\n"
              "sluice_fleet_pending_lost_total 0\n"
              "sluice_fleet_nodes 0\n");
}

TEST(ProxyMetrics, ResultsUpstreamErrorsAndCumulativeLatencyInSeconds) {
    ProxyStats stats;
    for (int i = 0; i < 5; ++i) stats.count(stats.forwarded);
    for (int i = 0; i < 4; ++i) stats.count(stats.limited);
    for (int i = 0; i < 3; ++i) stats.count(stats.blocked);
    stats.count(stats.bad_requests);
    for (int i = 0; i < 2; ++i) stats.count(stats.unavailable_forwarded);  // also in forwarded's 5
    for (int i = 0; i < 6; ++i) stats.count(stats.unavailable_refused);
    stats.count(stats.upstream_timeouts);
    stats.count(stats.upstream_failures);
    stats.count(stats.upstream_failures);
    const std::chrono::nanoseconds latencies[] = {150us, 3ms, 3ms, 7s};
    for (std::chrono::nanoseconds latency : latencies) stats.record_latency(ns(latency));
    ProxyStatsSnapshot snapshot;
    stats.add_to(snapshot);

    PrometheusText out;
    write_proxy_metrics(out, snapshot);
    const std::string& text = out.text();
    EXPECT_EQ(samples(text),
              "sluice_proxy_requests_total{result=\"forwarded\"} 5\n"
              "sluice_proxy_requests_total{result=\"limited\"} 4\n"
              "sluice_proxy_requests_total{result=\"blocked\"} 3\n"
              "sluice_proxy_requests_total{result=\"unavailable\"} 6\n"
              "sluice_proxy_requests_total{result=\"bad_request\"} 1\n"
              "sluice_store_unavailable_total{answer=\"forwarded\"} 2\n"
              "sluice_store_unavailable_total{answer=\"refused\"} 6\n"
              "sluice_upstream_errors_total{kind=\"timeout\"} 1\n"
              "sluice_upstream_errors_total{kind=\"failure\"} 2\n"
              "sluice_request_duration_seconds_bucket{le=\"0.0001\"} 0\n"
              "sluice_request_duration_seconds_bucket{le=\"0.00025\"} 1\n"
              "sluice_request_duration_seconds_bucket{le=\"0.0005\"} 1\n"
              "sluice_request_duration_seconds_bucket{le=\"0.001\"} 1\n"
              "sluice_request_duration_seconds_bucket{le=\"0.0025\"} 1\n"
              "sluice_request_duration_seconds_bucket{le=\"0.005\"} 3\n"
              "sluice_request_duration_seconds_bucket{le=\"0.01\"} 3\n"
              "sluice_request_duration_seconds_bucket{le=\"0.025\"} 3\n"
              "sluice_request_duration_seconds_bucket{le=\"0.05\"} 3\n"
              "sluice_request_duration_seconds_bucket{le=\"0.1\"} 3\n"
              "sluice_request_duration_seconds_bucket{le=\"0.25\"} 3\n"
              "sluice_request_duration_seconds_bucket{le=\"0.5\"} 3\n"
              "sluice_request_duration_seconds_bucket{le=\"1\"} 3\n"
              "sluice_request_duration_seconds_bucket{le=\"5\"} 3\n"
              "sluice_request_duration_seconds_bucket{le=\"+Inf\"} 4\n"
              "sluice_request_duration_seconds_sum 7.00615\n"
              "sluice_request_duration_seconds_count 4\n");
    EXPECT_THAT(exposition_problems(text), IsEmpty());
}

std::vector<XdpInterfaceCounters> two_interfaces() {
    std::vector<XdpInterfaceCounters> interfaces(2);
    interfaces[0].interface = "eth0";
    interfaces[1].interface = "other";
    for (unsigned stat = 0; stat < SLUICE_STAT_COUNT; ++stat) {
        interfaces[0].counters[stat] = {10 + stat, 1000 + stat};
        interfaces[1].counters[stat] = {20 + stat, 2000 + stat};
    }
    return interfaces;
}

TEST(XdpMetrics, PacketsAndBytesByInterfaceAndVerdictThenFullBlockMap) {
    PrometheusText out;
    write_xdp_metrics(out, two_interfaces());
    EXPECT_EQ(out.text(),
              "# HELP sluice_xdp_packets_total Packets the XDP program saw, by interface and verdict.\n"
              "# TYPE sluice_xdp_packets_total counter\n"
              "sluice_xdp_packets_total{interface=\"eth0\",reason=\"passed\"} 10\n"
              "sluice_xdp_packets_total{interface=\"eth0\",reason=\"allow_listed\"} 11\n"
              "sluice_xdp_packets_total{interface=\"eth0\",reason=\"other_port\"} 12\n"
              "sluice_xdp_packets_total{interface=\"eth0\",reason=\"unparsed\"} 13\n"
              "sluice_xdp_packets_total{interface=\"eth0\",reason=\"insert_gated\"} 14\n"
              "sluice_xdp_packets_total{interface=\"eth0\",reason=\"deny_listed\"} 15\n"
              "sluice_xdp_packets_total{interface=\"eth0\",reason=\"blocked\"} 16\n"
              "sluice_xdp_packets_total{interface=\"eth0\",reason=\"rate_dropped\"} 17\n"
              "sluice_xdp_packets_total{interface=\"other\",reason=\"passed\"} 20\n"
              "sluice_xdp_packets_total{interface=\"other\",reason=\"allow_listed\"} 21\n"
              "sluice_xdp_packets_total{interface=\"other\",reason=\"other_port\"} 22\n"
              "sluice_xdp_packets_total{interface=\"other\",reason=\"unparsed\"} 23\n"
              "sluice_xdp_packets_total{interface=\"other\",reason=\"insert_gated\"} 24\n"
              "sluice_xdp_packets_total{interface=\"other\",reason=\"deny_listed\"} 25\n"
              "sluice_xdp_packets_total{interface=\"other\",reason=\"blocked\"} 26\n"
              "sluice_xdp_packets_total{interface=\"other\",reason=\"rate_dropped\"} 27\n"
              "# HELP sluice_xdp_bytes_total Bytes of the packets the XDP program saw, by interface and verdict.\n"
              "# TYPE sluice_xdp_bytes_total counter\n"
              "sluice_xdp_bytes_total{interface=\"eth0\",reason=\"passed\"} 1000\n"
              "sluice_xdp_bytes_total{interface=\"eth0\",reason=\"allow_listed\"} 1001\n"
              "sluice_xdp_bytes_total{interface=\"eth0\",reason=\"other_port\"} 1002\n"
              "sluice_xdp_bytes_total{interface=\"eth0\",reason=\"unparsed\"} 1003\n"
              "sluice_xdp_bytes_total{interface=\"eth0\",reason=\"insert_gated\"} 1004\n"
              "sluice_xdp_bytes_total{interface=\"eth0\",reason=\"deny_listed\"} 1005\n"
              "sluice_xdp_bytes_total{interface=\"eth0\",reason=\"blocked\"} 1006\n"
              "sluice_xdp_bytes_total{interface=\"eth0\",reason=\"rate_dropped\"} 1007\n"
              "sluice_xdp_bytes_total{interface=\"other\",reason=\"passed\"} 2000\n"
              "sluice_xdp_bytes_total{interface=\"other\",reason=\"allow_listed\"} 2001\n"
              "sluice_xdp_bytes_total{interface=\"other\",reason=\"other_port\"} 2002\n"
              "sluice_xdp_bytes_total{interface=\"other\",reason=\"unparsed\"} 2003\n"
              "sluice_xdp_bytes_total{interface=\"other\",reason=\"insert_gated\"} 2004\n"
              "sluice_xdp_bytes_total{interface=\"other\",reason=\"deny_listed\"} 2005\n"
              "sluice_xdp_bytes_total{interface=\"other\",reason=\"blocked\"} 2006\n"
              "sluice_xdp_bytes_total{interface=\"other\",reason=\"rate_dropped\"} 2007\n"
              "# HELP sluice_xdp_block_map_full_total Blocks the XDP program could not record because its block "
              "map was full.\n"
              "# TYPE sluice_xdp_block_map_full_total counter\n"
              "sluice_xdp_block_map_full_total{interface=\"eth0\"} 18\n"
              "sluice_xdp_block_map_full_total{interface=\"other\"} 28\n");
    EXPECT_THAT(exposition_problems(out.text()), IsEmpty());
}

// Every family together, XDP included, read by Prometheus' own checker when
// it is installed (package prometheus: promtool).
TEST_F(MetricsTest, PromtoolAcceptsEveryFamily) {
    request("/v1/a");
    PrometheusText out;
    write_build_metrics(out, "1.2.3");
    write_quota_metrics(out, *limiter.policy());
    write_proxy_metrics(out, proxy.stats());
    write_connection_metrics(out, {3, 100, 2, 1});
    write_store_metrics(out, store);
    write_fleet_metrics(out, FleetSyncStatus{}, 1);
    write_block_metrics(out, blocks);
    write_control_plane_metrics(out, control.counters());
    write_xdp_metrics(out, two_interfaces());
    EXPECT_THAT(exposition_problems(out.text()), IsEmpty()) << out.text();

    if (std::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "promtool not installed";
    const std::string file = ::testing::TempDir() + "sluice-metrics.txt";
    std::ofstream(file) << out.text();
    const std::string command = "promtool check metrics < " + file + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string report;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe)) report += buffer;
    const int status = pclose(pipe);
    std::remove(file.c_str());
    EXPECT_EQ(status, 0) << report;
    EXPECT_EQ(report, "");
}

}  // namespace
}  // namespace sluice
