#include "sluicectl/stats.h"

#include "sluicectl/format.h"
#include "sluicectl/table.h"

#include <algorithm>
#include <string_view>

namespace sluice::ctl {

namespace {

// The fleet sync's figures (sluice_fleet_sync_state aside) and the names
// sluicectl gives them.
constexpr std::pair<std::string_view, std::string_view> kFleetFigures[] = {
    {"sluice_fleet_lag_events", "lag"},
    {"sluice_fleet_pending_events", "pending"},
    {"sluice_fleet_events_applied_total", "applied"},
    {"sluice_fleet_events_published_total", "published"},
    {"sluice_fleet_snapshots_total", "snapshots"},
    {"sluice_fleet_pending_lost_total", "pending_lost"},
    {"sluice_fleet_nodes", "nodes"},
};

const std::string_view* fleet_figure(const std::string& metric) {
    for (const auto& [name, figure] : kFleetFigures)
        if (name == metric) return &figure;
    return nullptr;
}

void add(LabeledCounts& counts, const std::string& label, double value) {
    const auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& count) { return count.first == label; });
    if (it == counts.end())
        counts.emplace_back(label, value);
    else
        it->second += value;
}

// Summed per interface and reason, whatever other labels split them.
void add(std::vector<XdpPackets>& xdp, const std::string& interface, const std::string& reason, double packets) {
    const auto it = std::find_if(xdp.begin(), xdp.end(),
                                 [&](const auto& row) { return row.interface == interface && row.reason == reason; });
    if (it == xdp.end())
        xdp.push_back({interface, reason, packets});
    else
        it->packets += packets;
}

QuotaOutcomes& outcomes_of(std::vector<QuotaOutcomes>& quotas, const std::string& quota) {
    const auto it = std::find_if(quotas.begin(), quotas.end(), [&](const auto& q) { return q.quota == quota; });
    return it != quotas.end() ? *it : quotas.emplace_back(QuotaOutcomes{quota});
}

// Counters are whole numbers: written as JSON integers.
nlohmann::ordered_json number_json(double value) {
    if (is_whole_number(value)) return static_cast<long long>(value);
    return value;
}

nlohmann::ordered_json optional_json(const std::optional<double>& value) {
    return value ? number_json(*value) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json counts_json(const LabeledCounts& counts) {
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    for (const auto& [label, value] : counts) object[label] = number_json(value);
    return object;
}

bool has_fleet(const Stats& stats) { return stats.fleet_sync || !stats.fleet.empty(); }

// {"sync": state, then the figures}, or null without the fleet sync.
nlohmann::ordered_json fleet_json(const Stats& stats) {
    if (!has_fleet(stats)) return nullptr;
    nlohmann::ordered_json fleet = {{"sync", stats.fleet_sync ? nlohmann::ordered_json(*stats.fleet_sync) : nullptr}};
    fleet.update(counts_json(stats.fleet));
    return fleet;
}

std::string optional_cell(const std::optional<double>& value) { return value ? format_number(*value) : "-"; }

// A row per count: "redis unanswered error", from "unanswered_error".
void add_rows(Table& table, const std::string& prefix, const LabeledCounts& counts) {
    for (auto [what, count] : counts) {
        std::replace(what.begin(), what.end(), '_', ' ');
        table.add_row({prefix + what, format_number(count)});
    }
}

}  // namespace

Stats summarize(const std::vector<Sample>& samples) {
    Stats stats;
    for (const Sample& sample : samples) {
        const std::string& name = sample.name;
        if (name == "sluice_requests_total") {
            QuotaOutcomes& quota = outcomes_of(stats.quotas, sample.label("quota"));
            const std::string outcome = sample.label("outcome");
            if (outcome == "allowed") quota.allowed += sample.value;
            if (outcome == "limited") quota.limited += sample.value;
            if (outcome == "dry_run") quota.dry_run += sample.value;
        } else if (name == "sluice_proxy_requests_total") {
            add(stats.requests, sample.label("result"), sample.value);
        } else if (name == "sluice_upstream_errors_total") {
            add(stats.upstream_errors, sample.label("kind"), sample.value);
        } else if (name == "sluice_xdp_packets_total") {
            add(stats.xdp, sample.label("interface"), sample.label("reason"), sample.value);
        } else if (name == "sluice_tracked_keys") {
            stats.tracked_keys = sample.value;
        } else if (name == "sluice_tracked_keys_limit") {
            stats.tracked_keys_limit = sample.value;
        } else if (name == "sluice_key_evictions_total") {
            stats.key_evictions = sample.value;
        } else if (name == "sluice_blocks") {
            stats.blocks = sample.value;
        } else if (name == "sluice_redis_calls_total") {
            add(stats.redis, "calls", sample.value);
        } else if (name == "sluice_redis_unanswered_total") {
            add(stats.redis, "unanswered_" + sample.label("reason"), sample.value);
        } else if (name == "sluice_redis_cache_refusals_total") {
            add(stats.redis, "cache_refusals", sample.value);
        } else if (name == "sluice_redis_breaker_open") {
            add(stats.redis, "breaker_open", sample.value);
        } else if (name == "sluice_fleet_sync_state") {
            if (sample.value == 1) stats.fleet_sync = sample.label("state");  // the others are 0
        } else if (const std::string_view* figure = fleet_figure(name)) {
            add(stats.fleet, std::string(*figure), sample.value);
        }
    }
    return stats;
}

nlohmann::ordered_json stats_json(const Stats& stats) {
    nlohmann::ordered_json quotas = nlohmann::ordered_json::array();
    for (const QuotaOutcomes& quota : stats.quotas) {
        quotas.push_back({{"quota", quota.quota},
                          {"allowed", number_json(quota.allowed)},
                          {"limited", number_json(quota.limited)},
                          {"dry_run", number_json(quota.dry_run)}});
    }
    nlohmann::ordered_json xdp = nlohmann::ordered_json::array();
    for (const XdpPackets& packets : stats.xdp) {
        xdp.push_back(
            {{"interface", packets.interface}, {"reason", packets.reason}, {"packets", number_json(packets.packets)}});
    }
    return {{"quotas", std::move(quotas)},
            {"tracked_keys", optional_json(stats.tracked_keys)},
            {"tracked_keys_limit", optional_json(stats.tracked_keys_limit)},
            {"key_evictions", optional_json(stats.key_evictions)},
            {"blocks", optional_json(stats.blocks)},
            {"requests", counts_json(stats.requests)},
            {"upstream_errors", counts_json(stats.upstream_errors)},
            {"redis", stats.redis.empty() ? nlohmann::ordered_json(nullptr) : counts_json(stats.redis)},
            {"fleet", fleet_json(stats)},
            {"xdp", std::move(xdp)}};
}

std::string render_stats(const Stats& stats) {
    Table quotas({"QUOTA", "ALLOWED", "LIMITED", "DRY_RUN"});
    for (const QuotaOutcomes& quota : stats.quotas) {
        quotas.add_row(
            {quota.quota, format_number(quota.allowed), format_number(quota.limited), format_number(quota.dry_run)});
    }

    Table counters({"COUNTER", "VALUE"});
    counters.add_row({"tracked keys", optional_cell(stats.tracked_keys)});
    counters.add_row({"tracked keys limit", optional_cell(stats.tracked_keys_limit)});
    counters.add_row({"key evictions", optional_cell(stats.key_evictions)});
    counters.add_row({"blocks", optional_cell(stats.blocks)});
    for (const auto& [result, count] : stats.requests) counters.add_row({"requests " + result, format_number(count)});
    for (const auto& [kind, count] : stats.upstream_errors)
        counters.add_row({"upstream errors " + kind, format_number(count)});
    add_rows(counters, "redis ", stats.redis);
    if (has_fleet(stats)) counters.add_row({"fleet sync", stats.fleet_sync.value_or("-")});
    add_rows(counters, "fleet ", stats.fleet);

    std::string text = (stats.quotas.empty() ? "no quotas\n" : quotas.render()) + "\n" + counters.render();
    if (!stats.xdp.empty()) {
        Table xdp({"INTERFACE", "REASON", "PACKETS"});
        for (const XdpPackets& packets : stats.xdp)
            xdp.add_row({packets.interface, packets.reason, format_number(packets.packets)});
        text += "\n" + xdp.render();
    }
    return text;
}

}  // namespace sluice::ctl
