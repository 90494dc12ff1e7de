// Keeps this host in step with its fleet (README, "Fleet mode"): two threads.
// The follower reads the fleet's state once (a snapshot) and then its change
// stream, entering blocks in the block list (and so in XDP) and API quotas
// in the control plane; a gap in the changes' numbers, a reset, a reconnect
// or the periodic reconcile sends it back to a snapshot. The publisher sends
// what this host owes the fleet (FleetBlocks' outbox), picks up the XDP
// program's own blocks, and writes the heartbeat. API quota changes are
// written to the fleet first (QuotaFleet) and refused while it cannot take
// them.
#pragma once

#include "control/control_plane.h"
#include "fleet/fleet_blocks.h"
#include "fleet/fleet_redis.h"
#include "fleet/fleet_status.h"
#include "limit/block_list.h"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sluice {

class XdpController;

// What this host tells the fleet about itself, besides its quotas.
struct FleetHost {
    std::string name;
    std::string version;
    std::vector<std::string> addresses;
    std::vector<FleetInterface> xdp;
};

class FleetSync final : public FleetMonitor, public QuotaFleet {
public:
    // `xdp` may be nullptr (XDP off). Nothing runs before start().
    FleetSync(const RedisStoreSettings& settings, FleetHost host, ControlPlane& control, BlockList& blocks,
              FleetBlocks& fleet_blocks, XdpController* xdp, const Clock& clock);
    ~FleetSync() override;

    void start();
    // Joins the threads (within a second) and takes this host off the list.
    void stop();

    FleetSyncStatus status() const override;
    std::vector<FleetNode> nodes() const override;

    Change put_quota(const Quota& quota) override;
    Change delete_quota(const std::string& name) override;
    Change set_settings(const QuotaSettings& settings) override;

private:
    void follow();
    void publish();
    bool sync_once(FleetRedis& redis, std::string& stream_id);  // false: read a snapshot next
    void read_snapshot(FleetRedis& redis, std::string& stream_id);
    void seed(FleetRedis& redis);
    void apply(const FleetEvent& event);
    void apply_quota(const std::string& name, const std::string& json);
    void apply_settings(const std::string& json);
    void enter_block(const FleetBlock& block);
    void lift_block(const std::string& client);
    void deliver_owed();
    void pick_up_xdp_blocks();
    void heartbeat();
    Change write(const std::function<std::uint64_t(FleetRedis&)>& change);

    void seen_seq(std::uint64_t seq);
    void applied_seq(std::uint64_t seq);
    void reachable(bool answered, const std::string& why = {});
    void update_state();                             // under status_mutex_
    bool sleep(std::chrono::milliseconds duration);  // false: stopping

    const RedisStoreSettings settings_;
    const FleetHost host_;
    ControlPlane& control_;
    BlockList& blocks_;
    FleetBlocks& fleet_blocks_;
    XdpController* xdp_;
    const Clock& clock_;
    FleetRedis writer_;  // the publisher's and the admin API's

    mutable std::mutex status_mutex_;
    FleetSyncStatus status_;
    bool answered_ = false;
    bool ever_answered_ = false;
    std::uint64_t latest_seq_ = 0;
    std::vector<FleetNode> nodes_;
    // What the last heartbeat said (the publisher's).
    std::vector<std::pair<std::string, std::string>> sent_file_quotas_;
    FleetSyncState sent_state_ = FleetSyncState::disconnected;

    std::mutex stop_mutex_;
    std::condition_variable stop_;
    std::atomic<bool> stopping_{false};
    std::thread follower_;
    std::thread publisher_;
};

}  // namespace sluice
