// The embedded quota store: a sharded open-addressing hash table of key
// states with a hard bound on keys. Memory per key is one 32-byte slot at a
// load factor of at most 3/4.
#pragma once

#include "limit/quota_store.h"
#include "store/kept_counters.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <span>
#include <vector>

namespace sluice {

// Shared by every event loop (it locks per shard), so it is its own handle
// on each, and it always answers at once.
class LocalStore final : public QuotaStore, public QuotaStoreHandle, public KeptCounters {
public:
    explicit LocalStore(std::size_t max_keys);

    StoreReply acquire(std::span<const QuotaCheck> checks, Nanos now, std::span<CheckResult> results);
    std::optional<StoreReply> acquire(std::span<const QuotaCheck> checks, Nanos now, std::span<CheckResult> results,
                                      StoreWaiter&) override {
        return acquire(checks, now, results);
    }
    LimitState peek(std::uint64_t key) const;
    LimitState peek(std::uint64_t key, std::uint64_t /*identity*/) const override { return peek(key); }
    void forget(std::uint64_t key);
    void forget(std::uint64_t key, std::uint64_t /*identity*/) override { forget(key); }

    std::size_t expire(Nanos now) override;
    std::size_t tracked_keys() const override;
    std::size_t max_keys() const override { return max_keys_; }
    std::size_t evictions() const override { return evictions_.load(std::memory_order_relaxed); }
    std::vector<Entry> entries() const override;  // shard by shard
    std::size_t restore(std::span<const Entry> saved, Nanos now) override;

    std::size_t memory_bytes() const;  // slot arrays, the bulk of the footprint

private:
    struct Slot {
        std::uint64_t key = 0;  // 0 = empty
        LimitState state;
    };
    struct alignas(64) Shard {
        mutable std::mutex mutex;
        std::vector<Slot> slots;
        std::atomic<std::size_t> used{0};
        std::size_t hand = 0;  // where the eviction scan resumes
    };
    static constexpr std::size_t kShardBits = 6;
    static constexpr std::size_t kShards = std::size_t{1} << kShardBits;
    static constexpr std::size_t kAbsent = static_cast<std::size_t>(-1);

    static std::size_t shard_of(std::uint64_t key) { return key >> (64 - kShardBits); }
    std::size_t home(const Shard&, std::uint64_t key) const;
    std::size_t find(const Shard&, std::uint64_t key) const;  // slot index or kAbsent
    void insert(Shard&, std::uint64_t key, const LimitState&);
    void erase(Shard&, std::size_t index);
    void grow(Shard&);
    bool make_room(Shard&, std::size_t inserts, Nanos now, std::span<const QuotaCheck> keep);

    std::size_t max_keys_;
    std::size_t keys_per_shard_;  // with slack: hashing never spreads keys perfectly
    std::size_t max_slots_;
    // Approximate across shards: concurrent inserts may pass it by one each.
    std::atomic<std::size_t> total_{0};
    std::array<Shard, kShards> shards_;
    std::atomic<std::size_t> evictions_{0};
};

}  // namespace sluice
