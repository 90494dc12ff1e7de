// What the HTTP data path counts, for the metrics endpoint. Each proxy thread
// has its own ProxyStats (no sharing on the request path); the endpoint sums
// them with relaxed reads.
#pragma once

#include "common/clock.h"
#include "common/latency_histogram.h"

#include <array>
#include <atomic>
#include <cstdint>

namespace sluice {

// The metrics endpoint describes them (HELP) as labels of its families.
// unavailable_*: the quota store could not answer; on_error forwarded the
// request (also counted in forwarded) or refused it with 503.
#define SLUICE_PROXY_COUNTERS(X) \
    X(forwarded)                 \
    X(limited)                   \
    X(blocked)                   \
    X(bad_requests)              \
    X(upstream_timeouts)         \
    X(upstream_failures)         \
    X(unavailable_forwarded)     \
    X(unavailable_refused)

// Request latency from the end of reading the request to the end of writing
// the answer. Upper bounds in seconds, Prometheus style (le); the last bucket
// is +Inf.
inline constexpr std::array<double, 14> kLatencyBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                          0.025,  0.05,    0.1,    0.25,  0.5,    1,     5};

struct ProxyStatsSnapshot {
#define SLUICE_FIELD(name) std::uint64_t name = 0;
    SLUICE_PROXY_COUNTERS(SLUICE_FIELD)
#undef SLUICE_FIELD
    LatencySnapshot<kLatencyBounds.size()> latency;
};

class ProxyStats {
public:
#define SLUICE_FIELD(name) std::atomic<std::uint64_t> name{0};
    SLUICE_PROXY_COUNTERS(SLUICE_FIELD)
#undef SLUICE_FIELD

    void count(std::atomic<std::uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }
    void record_latency(Nanos elapsed) { latency_.record(elapsed); }
    // Adds this thread's figures to `total`.
    void add_to(ProxyStatsSnapshot& total) const;

private:
    LatencyHistogram<kLatencyBounds> latency_;
};

}  // namespace sluice
