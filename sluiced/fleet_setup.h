// The fleet sync sluiced runs with a Redis store (README, "Fleet mode"):
// blocks and API quotas shared by every host.
#pragma once

#include "config/config.h"
#include "control/control_plane.h"
#include "fleet/fleet_blocks.h"
#include "fleet/fleet_sync.h"
#include "limit/block_list.h"
#include "store/redis_store.h"

#include <memory>
#include <string_view>

namespace sluice {

class XdpController;

struct FleetSetup {
    std::unique_ptr<FleetBlocks> blocks;  // between the block list and XDP
    std::unique_ptr<FleetSync> sync;      // after the control plane started

    const FleetMonitor* monitor() const { return sync.get(); }
};

// Before the control plane starts: the block list's listener is the fleet's,
// which passes changes on to `xdp`. Without a Redis store, `xdp` itself.
// Throws std::runtime_error when state_dir's outbox cannot be read.
FleetSetup set_up_fleet_blocks(const Config& config, BlockList& blocks, XdpController* xdp, const Clock& clock);

// After it started (its quotas and blocks are in): the fleet sync, running.
void start_fleet(FleetSetup& fleet, const Config& config, const RedisStore& redis, std::string_view version,
                 ControlPlane& control, BlockList& blocks, XdpController* xdp, const Clock& clock);

}  // namespace sluice
