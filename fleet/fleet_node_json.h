// A host's heartbeat record as it is kept in Redis: JSON, which the fleet
// script also reads (file_quotas, to refuse an API quota a host's file has).
#pragma once

#include "config/quota_json.h"
#include "fleet/fleet_status.h"

#include <cstdint>
#include <optional>
#include <string>

namespace sluice {

// The record, without its name and time (the hash field and the heartbeat's):
// version, addresses, quotas, file_quotas, xdp, sync, lag. The admin API
// shows the same fields (GET /v1/sys/nodes).
Json node_record(const FleetNode& node);
std::string node_record_json(const FleetNode& node);

// nullopt when `json` is not a record (a host of another version may add
// fields; those are ignored).
std::optional<FleetNode> parse_node_record(const std::string& name, const std::string& json, std::int64_t seen_unix_ms);

}  // namespace sluice
