// A latency histogram that threads add to without locking (relaxed atomics)
// and the metrics endpoint reads: counts per bucket, Prometheus style (an
// observation counts in the first bucket whose upper bound, in seconds, is at
// or above it; the last bucket is +Inf).
#pragma once

#include "common/clock.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>

namespace sluice {

template <std::size_t kBounds>
struct LatencySnapshot {
    // Not cumulative. Their total is the number of observations: a separate
    // count, read apart from the buckets, could disagree with them.
    std::array<std::uint64_t, kBounds + 1> buckets{};
    Nanos sum = 0;
};

template <const auto& kBounds>
class LatencyHistogram {
public:
    using Snapshot = LatencySnapshot<kBounds.size()>;

    void record(Nanos elapsed) {
        elapsed = std::max<Nanos>(elapsed, 0);
        const double seconds = static_cast<double>(elapsed) / 1e9;
        const auto bound = std::lower_bound(kBounds.begin(), kBounds.end(), seconds);
        buckets_[static_cast<std::size_t>(bound - kBounds.begin())].fetch_add(1, std::memory_order_relaxed);
        sum_.fetch_add(elapsed, std::memory_order_relaxed);
    }

    // Adds these figures to `total`.
    void add_to(Snapshot& total) const {
        for (std::size_t i = 0; i < buckets_.size(); ++i)
            total.buckets[i] += buckets_[i].load(std::memory_order_relaxed);
        total.sum += sum_.load(std::memory_order_relaxed);
    }

private:
    std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
    std::atomic<Nanos> sum_{0};
};

}  // namespace sluice
