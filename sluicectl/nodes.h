// `sluicectl nodes`: GET /v1/sys/nodes for people. A line on this host's
// fleet sync, then a row per live host of the fleet.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace sluice::ctl {

// `data` is the answer's data: {"sync": {...}, "nodes": [...]}. What the
// server did not send shows as "-".
std::string render_nodes(const nlohmann::ordered_json& data);

}  // namespace sluice::ctl
