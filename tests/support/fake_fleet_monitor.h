// A fleet sync's view that the test sets by hand, for what reads a
// FleetMonitor (the admin API, the metrics).
#pragma once

#include "fleet/fleet_status.h"

#include <vector>

namespace sluice::testing {

class FakeFleetMonitor final : public FleetMonitor {
public:
    FleetSyncStatus status() const override { return sync; }
    std::vector<FleetNode> nodes() const override { return live; }

    FleetSyncStatus sync;
    std::vector<FleetNode> live;
};

}  // namespace sluice::testing
