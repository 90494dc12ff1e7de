#include "proxy/stats.h"

#include <gtest/gtest.h>

#include <chrono>
#include <numeric>

using namespace std::chrono_literals;

namespace sluice {
namespace {

Nanos ns(std::chrono::nanoseconds d) { return d.count(); }

ProxyStatsSnapshot snapshot(const ProxyStats& stats) {
    ProxyStatsSnapshot total;
    stats.add_to(total);
    return total;
}

TEST(ProxyStats, LatencyGoesIntoTheFirstBucketAtOrAboveIt) {
    ProxyStats stats;
    stats.record_latency(0);              // bucket 0: le 0.0001
    stats.record_latency(ns(100us));      // exactly on a bound: that bucket (le is inclusive)
    stats.record_latency(ns(100us) + 1);  // bucket 1: le 0.00025
    stats.record_latency(ns(3ms));        // bucket 5: le 0.005
    stats.record_latency(ns(5s));         // bucket 13: le 5
    stats.record_latency(ns(5s) + 1);     // bucket 14: +Inf
    stats.record_latency(ns(1h));         // +Inf
    const ProxyStatsSnapshot s = snapshot(stats);
    const std::array<std::uint64_t, 15> expected = {2, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 2};
    EXPECT_EQ(s.latency.buckets, expected);
    EXPECT_EQ(s.latency.sum, 2 * ns(100us) + 1 + ns(3ms) + 2 * ns(5s) + 1 + ns(1h));
}

TEST(ProxyStats, EveryBoundIsInclusive) {
    ProxyStats stats;
    for (double bound : kLatencyBounds) stats.record_latency(static_cast<Nanos>(bound * 1e9 + 0.5));
    const ProxyStatsSnapshot s = snapshot(stats);
    for (std::size_t i = 0; i < kLatencyBounds.size(); ++i) EXPECT_EQ(s.latency.buckets[i], 1u) << kLatencyBounds[i];
    EXPECT_EQ(s.latency.buckets.back(), 0u);
}

TEST(ProxyStats, NegativeElapsedTimeCountsAsZero) {
    ProxyStats stats;
    stats.record_latency(-5);
    const ProxyStatsSnapshot s = snapshot(stats);
    EXPECT_EQ(s.latency.buckets[0], 1u);
    EXPECT_EQ(s.latency.sum, 0);
}

TEST(ProxyStats, AddToSumsThreadsIntoOneSnapshot) {
    ProxyStats first, second;
    first.count(first.forwarded);
    first.count(first.forwarded);
    first.count(first.limited);
    first.count(first.blocked);
    second.count(second.forwarded);
    second.count(second.bad_requests);
    second.count(second.upstream_timeouts);
    second.count(second.upstream_failures);
    second.count(second.upstream_failures);
    first.record_latency(ns(1ms));
    second.record_latency(ns(1ms));
    second.record_latency(ns(2s));

    ProxyStatsSnapshot total;
    first.add_to(total);
    second.add_to(total);
    EXPECT_EQ(total.forwarded, 3u);
    EXPECT_EQ(total.limited, 1u);
    EXPECT_EQ(total.blocked, 1u);
    EXPECT_EQ(total.bad_requests, 1u);
    EXPECT_EQ(total.upstream_timeouts, 1u);
    EXPECT_EQ(total.upstream_failures, 2u);
    EXPECT_EQ(total.latency.buckets[3], 2u);   // le 0.001
    EXPECT_EQ(total.latency.buckets[13], 1u);  // le 5
    EXPECT_EQ(std::accumulate(total.latency.buckets.begin(), total.latency.buckets.end(), std::uint64_t{0}), 3u);
    EXPECT_EQ(total.latency.sum, 2 * ns(1ms) + ns(2s));
}

}  // namespace
}  // namespace sluice
