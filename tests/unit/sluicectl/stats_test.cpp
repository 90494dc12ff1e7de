#include "sluicectl/prometheus.h"
#include "sluicectl/stats.h"
#include "sluicectl/table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::ctl {
namespace {

const char* const kMetricsText = R"(# TYPE sluice_requests_total counter
sluice_requests_total{quota="per-ip",outcome="allowed"} 12
sluice_requests_total{quota="per-ip",outcome="limited"} 3
sluice_requests_total{quota="per-ip",outcome="dry_run"} 0
sluice_requests_total{quota="scans",outcome="allowed"} 1000000
sluice_requests_total{quota="scans",outcome="limited"} 0
sluice_requests_total{quota="scans",outcome="dry_run"} 4
sluice_proxy_requests_total{result="forwarded"} 12
sluice_proxy_requests_total{result="limited"} 3
sluice_proxy_requests_total{result="blocked"} 1
sluice_upstream_errors_total{kind="timeout"} 0
sluice_upstream_errors_total{kind="failure"} 2
sluice_request_duration_seconds_bucket{le="0.001"} 10
sluice_tracked_keys 5
sluice_tracked_keys_limit 1000000
sluice_key_evictions_total 0
sluice_blocks 1
sluice_xdp_packets_total{interface="eth0",reason="rate_ok"} 100
sluice_xdp_packets_total{interface="eth0",reason="rate"} 7
sluice_xdp_bytes_total{interface="eth0",reason="rate"} 700
)";

// What render_stats prints for metrics without quotas and without the
// tracked-key and block figures: "no quotas", then the COUNTER table (laid
// out by Table, as SummaryForPeople shows) with those four as "-" and
// `rows` after them.
std::string without_quotas_then_counters(const std::vector<std::vector<std::string>>& rows) {
    Table counters({"COUNTER", "VALUE"});
    for (const char* name : {"tracked keys", "tracked keys limit", "key evictions", "blocks"})
        counters.add_row({name, "-"});
    for (const std::vector<std::string>& row : rows) counters.add_row(row);
    return "no quotas\n\n" + counters.render();
}

TEST(SluicectlStats, SummaryForPeople) {
    EXPECT_EQ(render_stats(summarize(parse_prometheus_text(kMetricsText))),
              "QUOTA   ALLOWED  LIMITED  DRY_RUN\n"
              "per-ip  12       3        0\n"
              "scans   1000000  0        4\n"
              "\n"
              "COUNTER                  VALUE\n"
              "tracked keys             5\n"
              "tracked keys limit       1000000\n"
              "key evictions            0\n"
              "blocks                   1\n"
              "requests forwarded       12\n"
              "requests limited         3\n"
              "requests blocked         1\n"
              "upstream errors timeout  0\n"
              "upstream errors failure  2\n"
              "\n"
              "INTERFACE  REASON   PACKETS\n"
              "eth0       rate_ok  100\n"
              "eth0       rate     7\n");
}

TEST(SluicectlStats, SummaryAsJson) {
    EXPECT_EQ(stats_json(summarize(parse_prometheus_text(kMetricsText))).dump(),
              R"({"quotas":[{"quota":"per-ip","allowed":12,"limited":3,"dry_run":0},)"
              R"({"quota":"scans","allowed":1000000,"limited":0,"dry_run":4}],)"
              R"("tracked_keys":5,"tracked_keys_limit":1000000,"key_evictions":0,"blocks":1,)"
              R"("requests":{"forwarded":12,"limited":3,"blocked":1},)"
              R"("upstream_errors":{"timeout":0,"failure":2},"redis":null,"fleet":null,)"
              R"("xdp":[{"interface":"eth0","reason":"rate_ok","packets":100},)"
              R"({"interface":"eth0","reason":"rate","packets":7}]})");
}

TEST(SluicectlStats, XdpSectionOnlyWhenThereAreXdpCountersAndMissingFiguresShowAsDashes) {
    const Stats stats = summarize(parse_prometheus_text("sluice_proxy_requests_total{result=\"forwarded\"} 2\n"));
    EXPECT_EQ(render_stats(stats), without_quotas_then_counters({{"requests forwarded", "2"}}));
    EXPECT_EQ(stats_json(stats).dump(),
              R"({"quotas":[],"tracked_keys":null,"tracked_keys_limit":null,"key_evictions":null,"blocks":null,)"
              R"("requests":{"forwarded":2},"upstream_errors":{},"redis":null,"fleet":null,"xdp":[]})");
}

TEST(SluicectlStats, TheRedisStoresCallsWhenItIsOn) {
    const Stats stats =
        summarize(parse_prometheus_text("sluice_redis_calls_total 120\n"
                                        "sluice_redis_unanswered_total{reason=\"error\"} 1\n"
                                        "sluice_redis_unanswered_total{reason=\"timeout\"} 4\n"
                                        "sluice_redis_unanswered_total{reason=\"breaker_open\"} 30\n"
                                        "sluice_redis_cache_refusals_total 800\n"
                                        "sluice_redis_breaker_open 1\n"
                                        "sluice_redis_call_duration_seconds_count 115\n"));
    EXPECT_EQ(render_stats(stats), without_quotas_then_counters({{"redis calls", "120"},
                                                                 {"redis unanswered error", "1"},
                                                                 {"redis unanswered timeout", "4"},
                                                                 {"redis unanswered breaker open", "30"},
                                                                 {"redis cache refusals", "800"},
                                                                 {"redis breaker open", "1"}}));
    EXPECT_EQ(stats_json(stats)["redis"].dump(),
              R"({"calls":120,"unanswered_error":1,"unanswered_timeout":4,"unanswered_breaker_open":30,)"
              R"("cache_refusals":800,"breaker_open":1})");
}

TEST(SluicectlStats, TheFleetSyncWhenItIsOn) {
    const Stats stats =
        summarize(parse_prometheus_text("sluice_fleet_sync_state{state=\"in_sync\"} 0\n"
                                        "sluice_fleet_sync_state{state=\"lagging\"} 1\n"
                                        "sluice_fleet_sync_state{state=\"disconnected\"} 0\n"
                                        "sluice_fleet_lag_events 12\n"
                                        "sluice_fleet_state_since_seconds 1796506165\n"
                                        "sluice_fleet_pending_events 4\n"
                                        "sluice_fleet_events_applied_total 4990\n"
                                        "sluice_fleet_events_published_total 37\n"
                                        "sluice_fleet_snapshots_total 2\n"
                                        "sluice_fleet_pending_lost_total 1\n"
                                        "sluice_fleet_nodes 3\n"));
    EXPECT_EQ(render_stats(stats), without_quotas_then_counters({{"fleet sync", "lagging"},
                                                                 {"fleet lag", "12"},
                                                                 {"fleet pending", "4"},
                                                                 {"fleet applied", "4990"},
                                                                 {"fleet published", "37"},
                                                                 {"fleet snapshots", "2"},
                                                                 {"fleet pending lost", "1"},
                                                                 {"fleet nodes", "3"}}));
    EXPECT_EQ(stats_json(stats)["fleet"].dump(),
              R"({"sync":"lagging","lag":12,"pending":4,"applied":4990,"published":37,"snapshots":2,)"
              R"("pending_lost":1,"nodes":3})");
}

TEST(SluicectlStats, XdpCountersSplitByOtherLabelsAreSummedPerInterfaceAndReason) {
    const Stats stats =
        summarize(parse_prometheus_text("sluice_xdp_packets_total{interface=\"eth0\",reason=\"rate\",cpu=\"0\"} 2\n"
                                        "sluice_xdp_packets_total{interface=\"eth0\",reason=\"rate\",cpu=\"1\"} 3\n"));
    ASSERT_EQ(stats.xdp.size(), 1u);
    EXPECT_EQ(stats.xdp[0].packets, 5);
}

}  // namespace
}  // namespace sluice::ctl
