#include "proxy/stats.h"

#include <algorithm>

namespace sluice {

void ProxyStats::record_latency(Nanos elapsed) {
    elapsed = std::max<Nanos>(elapsed, 0);
    const double seconds = static_cast<double>(elapsed) / 1e9;
    // The first bound at or above the latency (Prometheus' le), or the +Inf
    // bucket past the last bound.
    const auto bound = std::lower_bound(kLatencyBounds.begin(), kLatencyBounds.end(), seconds);
    latency_buckets_[static_cast<std::size_t>(bound - kLatencyBounds.begin())].fetch_add(1, std::memory_order_relaxed);
    latency_sum_.fetch_add(elapsed, std::memory_order_relaxed);
}

void ProxyStats::add_to(ProxyStatsSnapshot& total) const {
#define SLUICE_ADD(name) total.name += name.load(std::memory_order_relaxed);
    SLUICE_PROXY_COUNTERS(SLUICE_ADD)
#undef SLUICE_ADD
    for (std::size_t i = 0; i < latency_buckets_.size(); ++i)
        total.latency_buckets[i] += latency_buckets_[i].load(std::memory_order_relaxed);
    total.latency_sum += latency_sum_.load(std::memory_order_relaxed);
}

}  // namespace sluice
