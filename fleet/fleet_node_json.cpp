#include "fleet/fleet_node_json.h"

namespace sluice {
namespace {

FleetSyncState sync_state(const std::string& text) {
    for (FleetSyncState state : {FleetSyncState::in_sync, FleetSyncState::lagging, FleetSyncState::disconnected})
        if (text == to_string(state)) return state;
    return FleetSyncState::disconnected;
}

}  // namespace

Json node_record(const FleetNode& node) {
    Json file_quotas = Json::object();
    for (const auto& [name, file] : node.file_quotas) file_quotas[name] = file;
    Json xdp = Json::array();
    for (const FleetInterface& i : node.xdp) xdp.push_back({{"interface", i.name}, {"mode", i.mode}});
    return Json{{"version", node.version}, {"addresses", node.addresses},
                {"quotas", node.quotas},   {"file_quotas", std::move(file_quotas)},
                {"xdp", std::move(xdp)},   {"sync", to_string(node.sync)},
                {"lag", node.lag}};
}

std::string node_record_json(const FleetNode& node) { return node_record(node).dump(); }

std::optional<FleetNode> parse_node_record(const std::string& name, const std::string& json,
                                           std::int64_t seen_unix_ms) {
    try {
        const Json record = Json::parse(json);
        FleetNode node;
        node.name = name;
        node.version = record.value("version", "");
        node.addresses = record.value("addresses", std::vector<std::string>{});
        node.quotas = record.value("quotas", std::vector<std::string>{});
        const Json file_quotas = record.value("file_quotas", Json::object());
        for (const auto& [quota, file] : file_quotas.items())
            node.file_quotas.emplace_back(quota, file.get<std::string>());
        const Json xdp = record.value("xdp", Json::array());
        for (const Json& i : xdp) node.xdp.push_back({i.value("interface", ""), i.value("mode", "")});
        node.sync = sync_state(record.value("sync", ""));
        node.lag = record.value("lag", std::uint64_t{0});
        node.seen = WallClockTime(std::chrono::milliseconds(seen_unix_ms));
        return node;
    } catch (const Json::exception&) {
        return std::nullopt;
    }
}

}  // namespace sluice
