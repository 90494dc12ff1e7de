// What the Redis store counts, for the metrics endpoint; every event loop's
// handle adds to the store's one set (relaxed atomics).
#pragma once

#include <atomic>
#include <cstdint>

namespace sluice {

// The metrics endpoint describes them (HELP).
#define SLUICE_REDIS_COUNTERS(X) \
    X(round_trips)               \
    X(errors)                    \
    X(timeouts)                  \
    X(cache_refusals)            \
    X(breaker_refusals)          \
    X(breaker_opens)

struct RedisStoreStats {
#define SLUICE_FIELD(name) std::atomic<std::uint64_t> name{0};
    SLUICE_REDIS_COUNTERS(SLUICE_FIELD)
#undef SLUICE_FIELD
    std::atomic<int> open_breakers{0};  // event loops whose breaker is open or probing

    static void count(std::atomic<std::uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }
};

}  // namespace sluice
