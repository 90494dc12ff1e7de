// The one block list of sluiced: blocked clients and until when, whether a
// quota's block_interval or the admin API put them there. The listener (the
// XDP side) mirrors every block into the kernel's block map, where a block
// drops all of the client's packets. In the proxy, an API block refuses the
// client outright, before any quota; a quota's block is enforced by that
// quota, within its paths, as Vault does.
#pragma once

#include "limit/block_listener.h"
#include "limit/keyed_hash.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace sluice {

// The origin of blocks made through the admin API: refused outright.
inline constexpr std::string_view kApiBlockOrigin = "api";

struct BlockEntry {
    IpAddress client;
    Nanos until = 0;     // limiter's clock
    std::string origin;  // "api" or "quota:<name>"
    bool operator==(const BlockEntry&) const = default;
};

class BlockList final : public BlockListener {
public:
    explicit BlockList(std::size_t max_entries);

    // Not owned; set before serving, or nullptr.
    void set_listener(BlockListener* listener) { listener_ = listener; }

    // BlockListener: adds the client or extends its block (a shorter block
    // never shortens a longer one); forwards a change to the listener. When
    // the list is full a new client is not added and lost() counts it.
    void client_blocked(const IpAddress& client, Nanos until, std::string_view origin) override;
    // Removes the client (if listed) and forwards to the listener either way.
    void client_unblocked(const IpAddress& client) override;

    // As client_blocked, for the admin API: false when the list is full and
    // the client is not on it yet (the caller says so; lost() does not count it).
    bool add(const IpAddress& client, Nanos until, std::string_view origin);

    // The hot path: when the proxy is to refuse the client outright at `now`
    // (an API block), until when.
    std::optional<Nanos> refused_until(const IpAddress& client, Nanos now) const;

    // Unexpired entries, sorted by address. A client with both a quota's
    // block and a shorter API block has an entry for each (as the proxy
    // treats them apart), so saving and loading them keeps both.
    std::vector<BlockEntry> entries(Nanos now) const;
    // Drops expired entries; returns how many.
    std::size_t expire(Nanos now);

    std::size_t size() const;
    bool empty() const { return count_.load(std::memory_order_relaxed) == 0; }
    // Whether any entry refuses outright (an API block, maybe expired): the
    // hot path skips the address lookup while only quota blocks are listed.
    bool refuses_anyone() const { return refusing_.load(std::memory_order_relaxed) != 0; }
    std::size_t max_entries() const { return max_entries_; }
    std::uint64_t lost() const { return lost_.load(std::memory_order_relaxed); }
    // Counts every change (add, extend, remove, expire): a persister writes
    // when it moved.
    std::uint64_t version() const { return version_.load(std::memory_order_relaxed); }

private:
    // Keyed, so that addresses an attacker picks (a /64 holds plenty) cannot
    // be aimed at one bucket.
    struct Hash {
        KeyedHasher hasher;
        std::size_t operator()(const IpAddress& a) const;
    };
    struct Value {
        Nanos until;          // the longest block, whoever made it
        std::string origin;   // of that block
        Nanos refused_until;  // of the API's block; 0: none
    };

    const std::size_t max_entries_;
    BlockListener* listener_ = nullptr;
    // Changes take change_mutex_ first and tell the listener while holding
    // it, so the listener sees them in the list's order; mutex_ is held only
    // for the map itself, so readers never wait on the listener's syscalls.
    std::mutex change_mutex_;
    mutable std::shared_mutex mutex_;
    std::unordered_map<IpAddress, Value, Hash> entries_;
    void forget_refusal(const Value& value);  // before `value`'s entry is erased

    std::atomic<std::size_t> count_{0};
    std::atomic<std::size_t> refusing_{0};  // entries with a refused_until
    std::atomic<std::uint64_t> lost_{0};
    std::atomic<std::uint64_t> version_{0};
};

}  // namespace sluice
