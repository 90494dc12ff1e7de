// What a store that keeps its counters in this process offers besides the
// QuotaStore calls: the sweep of idle keys, its size and evictions for the
// metrics, and the entries a counters.bin snapshot saves and restores. The
// local store has it; a store whose counters live elsewhere (Redis) does not,
// and the metrics and the snapshot then have nothing to read.
#pragma once

#include "limit/algorithms.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sluice {

class KeptCounters {
public:
    // One tracked key and its state: what a snapshot holds across a restart.
    struct Entry {
        std::uint64_t key = 0;
        LimitState state;
    };

    // Drops state that has become equivalent to fresh; returns how many.
    virtual std::size_t expire(Nanos now) = 0;
    virtual std::size_t tracked_keys() const = 0;
    virtual std::size_t max_keys() const = 0;
    virtual std::size_t evictions() const = 0;

    // Every tracked key (a consistent view of each part, not of all at once).
    virtual std::vector<Entry> entries() const = 0;
    // Adds `saved` (meant for a fresh store, before it serves); a key it
    // already tracks keeps its state. Entries idle at `now` are skipped. When
    // max_keys cannot hold them all, those that stay busy the longest (latest
    // idle_at) are kept, as eviction would. Returns how many were added.
    virtual std::size_t restore(std::span<const Entry> saved, Nanos now) = 0;

protected:
    ~KeptCounters() = default;
};

}  // namespace sluice
