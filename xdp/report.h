// `sluiced --xdp-stats`: the XDP counters per interface, as text.
#pragma once

#include "xdp/maps.h"

#include <string>

namespace sluice {

// One block per interface slot that saw packets or is configured: each
// verdict's packets and bytes, then the events. `interface_name` maps an
// ifindex to its name (if_indextoname in sluiced).
std::string format_xdp_stats(const XdpStats& stats, const sluice_xdp_config& config,
                             std::string (*interface_name)(std::uint32_t ifindex));

}  // namespace sluice
