#include "fleet/fleet_status.h"

namespace sluice {

const char* to_string(FleetSyncState state) {
    switch (state) {
    case FleetSyncState::in_sync: return "in_sync";
    case FleetSyncState::lagging: return "lagging";
    case FleetSyncState::disconnected: return "disconnected";
    }
    return "disconnected";
}

}  // namespace sluice
