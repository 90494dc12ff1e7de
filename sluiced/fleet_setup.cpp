#include "sluiced/fleet_setup.h"

#include "xdp/controller.h"

#include <unistd.h>

namespace sluice {
namespace {

std::string host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "sluiced";
    return name;
}

}  // namespace

FleetSetup set_up_fleet_blocks(const Config& config, BlockList& blocks, XdpController* xdp, const Clock& clock) {
    FleetSetup fleet;
    if (!config.store) {
        blocks.set_listener(xdp);
        return fleet;
    }
    fleet.blocks = std::make_unique<FleetBlocks>(clock, config.max_blocks, config.state_dir);
    fleet.blocks->set_next(xdp);
    blocks.set_listener(fleet.blocks.get());
    return fleet;
}

void start_fleet(FleetSetup& fleet, const Config& config, const RedisStore& redis, std::string_view version,
                 ControlPlane& control, BlockList& blocks, XdpController* xdp, const Clock& clock) {
    // What state_dir held is the fleet's already, or reaches it as its seed.
    fleet.blocks->start_publishing();
    FleetHost host{config.store->node.empty() ? host_name() : config.store->node, std::string(version), {}, {}};
    for (const ListenAddress& address : config.proxy.listen) host.addresses.push_back(host_port(address));
    for (const XdpAttachment& a : xdp ? xdp->attachments() : std::vector<XdpAttachment>{})
        host.xdp.push_back({a.interface, a.mode});
    fleet.sync =
        std::make_unique<FleetSync>(redis.settings(), std::move(host), control, blocks, *fleet.blocks, xdp, clock);
    control.set_fleet(fleet.sync.get());
    fleet.sync->start();
}

}  // namespace sluice
