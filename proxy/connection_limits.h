// Caps on concurrent client connections, as nginx's limit_conn and HAProxy's
// maxconn: in total over every proxy thread, and per client (an IPv4 address
// or an IPv6 /64, as the XDP program keys sources). The accept loop asks
// admit() for each new connection and holds the slot while it serves it.
#pragma once

#include "limit/block_listener.h"
#include "common/cidr.h"
#include "common/clock.h"
#include "limit/keyed_hash.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sluice {

// The origin of the blocks limits.per_ip_block_interval makes.
inline constexpr std::string_view kConnectionsBlockOrigin = "connections";

struct ConnectionCounts {
    std::size_t open = 0;
    std::size_t limit = 0;
    std::uint64_t refused_total = 0;   // over limits.max_connections
    std::uint64_t refused_per_ip = 0;  // over limits.max_connections_per_ip
};

class ConnectionLimits {
public:
    // max_per_ip 0: no per-client cap.
    ConnectionLimits(std::size_t max_total, std::size_t max_per_ip);
    ConnectionLimits(const ConnectionLimits&) = delete;
    ConnectionLimits& operator=(const ConnectionLimits&) = delete;

    enum class Refusal { none, total, per_ip };

    // One admitted connection; gives its place back when destroyed.
    class Slot {
    public:
        Slot() = default;
        Slot(Slot&& other) noexcept;
        Slot& operator=(Slot&& other) noexcept;
        ~Slot();

    private:
        friend class ConnectionLimits;
        Slot(ConnectionLimits* limits, const IpAddress& client, bool per_ip)
            : limits_(limits),
              client_(client),
              per_ip_(per_ip) {}
        ConnectionLimits* limits_ = nullptr;
        IpAddress client_;     // the per-IP key
        bool per_ip_ = false;  // counted under max_per_ip
    };

    // From then on a client refused for being over max_per_ip is also
    // blocked for `block_for` on `clock`, through `blocks` (the block list,
    // which tells XDP), as a quota's block_interval blocks. Before serving.
    void block_over_per_ip_cap(BlockListener& blocks, const Clock& clock, Nanos block_for);

    // A slot for a new connection from `peer`, or the cap it is over (and
    // counted as refused). A peer in `trusted_proxies` (a load balancer
    // carries many clients; the caller's list, which a reload changes) has
    // no per-client cap. Safe from any thread.
    Refusal admit(const IpAddress& peer, Slot& slot, const std::vector<Cidr>& trusted_proxies = {});

    std::size_t open() const { return open_.load(std::memory_order_relaxed); }
    ConnectionCounts counts() const;
    // Clients with a connection open: entries go with their last connection,
    // so there are never more than open() of them.
    std::size_t clients() const;

private:
    // Adds a connection of `client` unless it is at max_per_ip.
    bool count_in(const IpAddress& client);
    void release(const IpAddress& client, bool per_ip);

    // Keyed, as the block list: sources an attacker picks must not pile
    // into one bucket.
    struct Hash {
        const KeyedHasher* hasher;  // the ConnectionLimits' own
        std::size_t operator()(const IpAddress& a) const;
    };
    // Per-client counts, split so that threads accepting at once rarely
    // meet on one lock.
    struct Shard {
        mutable std::mutex mutex;
        std::unordered_map<IpAddress, std::size_t, Hash> counts;
    };
    Shard& shard_of(const IpAddress& client);

    const std::size_t max_total_;
    const std::size_t max_per_ip_;
    const KeyedHasher hasher_;
    std::array<Shard, 16> shards_;
    BlockListener* blocks_ = nullptr;
    const Clock* clock_ = nullptr;
    Nanos block_for_ = 0;
    std::atomic<std::size_t> open_{0};
    std::atomic<std::uint64_t> refused_total_{0};
    std::atomic<std::uint64_t> refused_per_ip_{0};
};

// The per-client key: the address, or an IPv6 address's /64.
IpAddress connection_key(const IpAddress& peer);

// The default of limits.max_connections. A forwarded request holds two
// descriptors (the client's and an upstream connection); each thread keeps
// up to `idle_upstream` more, and `reserve` stay for the admin API, the
// listeners and files.
std::size_t default_max_connections(std::uint64_t open_files, unsigned threads, std::size_t idle_upstream);
inline constexpr std::size_t kReservedDescriptors = 64;

// Raises the soft RLIMIT_NOFILE to the hard one; returns the limit now in
// force and says in `note` what changed ("open files limit 1024 -> 65536").
std::uint64_t raise_open_files_limit(std::string& note);

}  // namespace sluice
