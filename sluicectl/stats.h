// `sluicectl stats`: what sluiced's /metrics says, summed up for people (or
// as JSON): requests per quota and outcome, tracked keys, evictions, blocks,
// what the proxy did with requests, upstream errors, the Redis store's calls
// and the fleet sync when it is on, and the XDP packet counters when XDP is on.
#pragma once

#include "sluicectl/prometheus.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice::ctl {

struct QuotaOutcomes {
    std::string quota;
    double allowed = 0;
    double limited = 0;
    double dry_run = 0;
};

struct XdpPackets {
    std::string interface;
    std::string reason;
    double packets = 0;
};

// A count per label value, in the order the metrics give them.
using LabeledCounts = std::vector<std::pair<std::string, double>>;

struct Stats {
    std::vector<QuotaOutcomes> quotas;
    std::optional<double> tracked_keys;  // nullopt: not in the metrics
    std::optional<double> tracked_keys_limit;
    std::optional<double> key_evictions;
    std::optional<double> blocks;
    LabeledCounts requests;         // by result: forwarded, limited, blocked, ...
    LabeledCounts upstream_errors;  // by kind
    std::vector<XdpPackets> xdp;    // empty when XDP is off
    // The Redis store's, empty without it: calls, what went unanswered by
    // reason, refusals from the cache, event loops with an open breaker.
    LabeledCounts redis;
    // The fleet sync's, empty without it: its state (in_sync, lagging,
    // disconnected), then lag, pending, applied, published, snapshots,
    // pending_lost and nodes.
    std::optional<std::string> fleet_sync;
    LabeledCounts fleet;
};

Stats summarize(const std::vector<Sample>& samples);

nlohmann::ordered_json stats_json(const Stats& stats);
std::string render_stats(const Stats& stats);

}  // namespace sluice::ctl
