// Between the block list and the XDP side when a fleet shares blocks: passes
// every change on, and keeps apart what the fleet already holds (its view)
// from what this host must still tell it (the outbox), so that a block the
// fleet sent is never sent back, and a block made here while Redis is away
// reaches the fleet once it is back. The outbox is bounded and kept in
// state_dir (fleet-outbox.json), so a restart during an outage loses nothing.
#pragma once

#include "fleet/fleet_redis.h"
#include "limit/block_listener.h"
#include "common/clock.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sluice {

// A change this host owes the fleet: a block, or (no block) an unblock.
struct FleetPending {
    std::string client;
    std::optional<FleetBlock> block;
    bool operator==(const FleetPending&) const = default;
};

class FleetBlocks final : public BlockListener {
public:
    // Reads the outbox a previous run left in `state_dir`. Throws
    // std::runtime_error ("<file>: <reason>") when it is not valid.
    FleetBlocks(const Clock& clock, std::size_t max_pending, std::optional<std::filesystem::path> state_dir);

    // Not owned; set before serving, or nullptr (XDP off).
    void set_next(BlockListener* next) { next_ = next; }
    // Until this is called (once the saved state is entered), changes are
    // passed on but not owed to the fleet.
    void start_publishing();

    // BlockListener: passed on; owed to the fleet unless it holds as much.
    void client_blocked(const IpAddress& client, Nanos until, std::string_view origin) override;
    void client_unblocked(const IpAddress& client) override;

    // The fleet holds `block` / lifted `client` / holds exactly `blocks`:
    // called before the change is entered in the block list.
    void fleet_holds(const FleetBlock& block);
    void fleet_lifted(const std::string& client);
    void fleet_holds_only(const std::vector<FleetBlock>& blocks);
    // Whether a change of `client` is still owed to the fleet (or on its way).
    bool owed(const std::string& client) const;

    // The changes owed (one per client, the latest), now on their way; done() when
    // the fleet took them, or give_back() when it could not be reached.
    std::vector<FleetPending> take();
    void done(const std::vector<FleetPending>& delivered);
    void give_back(std::vector<FleetPending> undelivered);
    // Waits until something is owed, or `timeout`.
    void wait(std::chrono::milliseconds timeout);

    std::size_t pending() const;
    std::uint64_t lost() const;

    // The wall-clock expiry of `until` (this host's steady clock), and back.
    std::int64_t to_unix_ns(Nanos until) const;
    Nanos to_steady(std::int64_t unix_ns) const;

private:
    void owe(FleetPending change);  // under mutex_
    void save();                    // under mutex_: the outbox to state_dir

    const Clock& clock_;
    const std::size_t max_pending_;
    const std::optional<std::filesystem::path> outbox_file_;
    BlockListener* next_ = nullptr;

    mutable std::mutex mutex_;
    std::condition_variable owed_;
    bool publishing_ = false;
    std::map<std::string, std::int64_t> view_;  // client -> the fleet's expiry (unix ns)
    std::map<std::string, FleetPending> outbox_;
    std::map<std::string, FleetPending> in_flight_;
    std::uint64_t lost_ = 0;
    std::map<std::string, FleetPending> saved_;  // what the file holds
};

}  // namespace sluice
