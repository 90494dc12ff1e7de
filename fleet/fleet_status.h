// What a host knows of its fleet (README, "Fleet mode"): how far behind the
// fleet's change stream it is, and which hosts are alive. The fleet sync
// keeps it; the admin API (GET /v1/sys/nodes), the metrics and sluicectl
// show it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

using WallClockTime = std::chrono::system_clock::time_point;

enum class FleetSyncState {
    in_sync,       // every change of the fleet's stream is applied
    lagging,       // connected, with changes not applied yet (lag > 0)
    disconnected,  // Redis does not answer: blocks made here wait in the outbox
};

// "in_sync", "lagging", "disconnected".
const char* to_string(FleetSyncState state);

struct FleetSyncStatus {
    FleetSyncState state = FleetSyncState::disconnected;
    std::uint64_t lag = 0;               // changes in the stream not applied yet
    WallClockTime since;                 // when `state` began
    std::uint64_t applied_seq = 0;       // the fleet's change number applied last
    std::uint64_t pending = 0;           // local changes waiting to reach the fleet
    std::uint64_t events_applied = 0;    // changes from the stream applied here
    std::uint64_t events_published = 0;  // changes this host wrote to the fleet
    std::uint64_t snapshots = 0;         // full reads of the fleet's state (start, gaps, reconciles)
    std::uint64_t pending_lost = 0;      // local changes dropped because the outbox was full
};

struct FleetInterface {
    std::string name;  // "eth0"
    std::string mode;  // "native", "generic"
    bool operator==(const FleetInterface&) const = default;
};

// A host's heartbeat record, as every host reads it from Redis.
struct FleetNode {
    std::string name;                                              // store.node, or the host name
    std::string version;                                           // sluiced's
    std::vector<std::string> addresses;                            // the proxy's listen addresses, "host:port"
    std::vector<std::string> quotas;                               // the names of the quotas in force there, sorted
    std::vector<std::pair<std::string, std::string>> file_quotas;  // name, file: quotas of its config files
    std::vector<FleetInterface> xdp;                               // empty: XDP off
    FleetSyncState sync = FleetSyncState::disconnected;
    std::uint64_t lag = 0;
    WallClockTime seen;  // its last heartbeat
    bool operator==(const FleetNode&) const = default;
};

// Read by the admin API and the metrics, from their own threads.
class FleetMonitor {
public:
    virtual ~FleetMonitor() = default;
    virtual FleetSyncStatus status() const = 0;
    // The live hosts (a heartbeat within the last kFleetNodeLifetime), this
    // one included, sorted by name, as of the last heartbeat.
    virtual std::vector<FleetNode> nodes() const = 0;
};

// A host's heartbeat is written every kFleetHeartbeat; a host not heard of
// for kFleetNodeLifetime is gone from the list.
inline constexpr std::chrono::seconds kFleetHeartbeat{2};
inline constexpr std::chrono::seconds kFleetNodeLifetime{10};

}  // namespace sluice
