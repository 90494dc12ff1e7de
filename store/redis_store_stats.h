// What the Redis store counts, for the metrics endpoint; every event loop's
// handle adds to the store's one set (relaxed atomics).
#pragma once

#include "common/latency_histogram.h"

#include <array>
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

// Script calls, from sending to the reply: upper bounds in seconds, finer
// than the requests' (a call on a LAN takes a fraction of a millisecond).
inline constexpr std::array<double, 14> kRedisLatencyBounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025,
                                                               0.005,   0.01,   0.025,   0.05,   0.1,     0.25,  1};

using RedisLatency = LatencyHistogram<kRedisLatencyBounds>;

struct RedisStoreStats {
#define SLUICE_FIELD(name) std::atomic<std::uint64_t> name{0};
    SLUICE_REDIS_COUNTERS(SLUICE_FIELD)
#undef SLUICE_FIELD
    std::atomic<int> open_breakers{0};  // event loops whose breaker is open or probing
    RedisLatency latency;               // answered calls

    static void count(std::atomic<std::uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }
};

}  // namespace sluice
