// The fleet's shared state in Redis (fleet/fleet_script.lua): every change
// goes through the script, which numbers it and appends it to the change
// stream in the same step. One instance per thread that waits on it: a read
// of the stream holds its connection for up to a second.
#pragma once

#include "redis/blocking_router.h"
#include "store/redis_store.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sluice {

// A block as the fleet holds it: wall-clock expiry (every host converts it
// to its own clock), the address as text ("203.0.113.7", "2001:db8::1").
struct FleetBlock {
    std::string client;
    std::int64_t expiry_unix_ns = 0;
    std::string origin;  // "api", "quota:<name>", "xdp"
    bool operator==(const FleetBlock&) const = default;
};

// One change of the stream.
struct FleetEvent {
    enum class Kind { block, unblock, quota, settings, reset };
    std::uint64_t seq = 0;  // one more than the change before it
    std::string stream_id;  // where the next read starts
    Kind kind = Kind::reset;
    FleetBlock block;  // block; unblock: its client
    std::string name;  // quota: its name
    std::string json;  // quota: its JSON, empty when deleted; settings: theirs
};

struct FleetSnapshot {
    std::uint64_t seq = 0;  // the last change it holds
    std::string stream_id;  // the stream's last entry ("0-0": none)
    std::vector<FleetBlock> blocks;
    std::map<std::string, std::string> quotas;  // name -> JSON
    std::optional<std::string> settings;        // JSON; none before a host seeded the fleet
};

struct FleetHeartbeatReply {
    std::uint64_t seq = 0;  // the fleet's last change
    struct Node {
        std::string name;
        std::string json;  // its record
        std::int64_t seen_unix_ms = 0;
    };
    std::vector<Node> nodes;  // live ones, oldest heartbeat first
};

// Read by every call: a reply that is not what the script sends.
struct FleetReplyError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The stream keeps about this many changes; a host further behind reads a
// snapshot instead.
inline constexpr std::size_t kFleetStreamLength = 10'000;

// The Redis keys of the fleet's state, `<prefix>{fleet}<name>`.
std::string fleet_key(const std::string& prefix, std::string_view name);

// Every call throws RedisNoAnswer when Redis does not answer, and
// std::runtime_error for an error reply (the message is Redis's).
class FleetRedis {
public:
    explicit FleetRedis(const RedisStoreSettings& settings);

    // The change's number; 0 when the fleet already holds the block as long.
    std::uint64_t block(const FleetBlock& block);
    std::uint64_t unblock(const std::string& client);
    // `json` empty: deletes. Refused (std::runtime_error with the reason)
    // when a live host other than `writer` defines `name` in a file.
    std::uint64_t put_quota(const std::string& name, const std::string& json, const std::string& writer);
    std::uint64_t set_settings(const std::string& json);
    // Only when the fleet has no settings yet (no host seeded it): writes
    // these as its first state. Returns whether it did.
    bool seed(const std::string& settings, const std::map<std::string, std::string>& quotas,
              const std::vector<FleetBlock>& blocks);
    FleetSnapshot snapshot();
    // The changes after `stream_id`, waiting up to `wait` for one; none when
    // none came.
    std::vector<FleetEvent> read_events(const std::string& stream_id, std::chrono::milliseconds wait);
    FleetHeartbeatReply heartbeat(const std::string& name, const std::string& record);
    void leave(const std::string& name);

private:
    RedisReplyPtr eval(const std::vector<std::string>& args);

    const std::chrono::milliseconds timeout_;
    const std::vector<std::string> keys_;
    RedisBlockingRouter router_;
};

}  // namespace sluice
