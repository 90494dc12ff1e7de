// The Redis store as the tests that hold its answers to the nanosecond set it
// up (the store contract, the store against the local one, the store on a
// Redis Cluster), how they wait for Redis's answers on their event loop, and
// RedisStoreTest, the fixture of those with one loop.
#pragma once

#include "store/redis_handle.h"
#include "store/redis_store.h"
#include "tests/support/deferred_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/redis_server.h"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <utility>

namespace sluice::testing {

// Whether the store keeps the refusals Redis gave and answers them itself
// (the default), or asks Redis every time.
enum class RefusalCache { on, off };

// Settings for a store whose answers replay exactly: the script takes the
// test's clock (RedisClock::caller), so that instants replay to the
// nanosecond; a call has 5 s (slow CI machines, sanitizers); the breaker
// never opens (it has tests of its own). Where Redis is: connect_to.
inline RedisStoreSettings exact_replay_settings(RefusalCache cache) {
    RedisStoreSettings s;
    s.timeout = std::chrono::nanoseconds(std::chrono::seconds(5)).count();
    s.clock = RedisClock::caller;
    if (cache == RefusalCache::off) s.refusal_cache_keys = 0;  // every answer from Redis's script
    s.failures_to_open = std::numeric_limits<int>::max();
    return s;
}

// The store on one redis-server, or on a Redis Cluster with every node as a
// seed.
inline void connect_to(RedisStoreSettings& s, const RedisServer& server) { s.endpoint = server.endpoint(); }
inline void connect_to(RedisStoreSettings& s, const RedisCluster& cluster) {
    for (std::uint16_t port : cluster.ports()) s.cluster.push_back({"127.0.0.1", port, "", 0});
}

// Runs the loop until the handle has no call in flight: every answer Redis
// owes it has come (or the call's timeout has).
inline void run_until_answered(boost::asio::io_context& io, const RedisHandle& handle) {
    io.restart();
    while (handle.in_flight() > 0) io.run_one();
}

// A test of the Redis store on a Redis of its own (Redis: RedisServer or
// RedisCluster) and one event loop, as a sluiced thread has: the store's
// settings are exact_replay_settings, its script on the test's clock_.
// The members are destroyed in the reverse order: the handle before the
// loop, the store before Redis.
template <class Redis>
class RedisStoreTest : public RedisServerTest {
protected:
    // Starts Redis (`redis_args` are its constructor's) and the store on it;
    // from SetUp, after RedisServerTest::SetUp, unless that skipped.
    template <class... RedisArgs>
    void start(RefusalCache cache, RedisArgs&&... redis_args) {
        redis_.emplace(std::forward<RedisArgs>(redis_args)...);
        RedisStoreSettings settings = exact_replay_settings(cache);
        connect_to(settings, *redis_);
        store_.emplace(settings, clock_);
        handle_ = store_->handle_for(io_);
    }

    // Asks the store through the handle and runs the loop until the answer
    // comes: the reply, or unavailable when none came. Redis never answers
    // at once (that fails the test).
    StoreReply ask(std::span<const QuotaCheck> checks, std::span<CheckResult> results) {
        ReplyCatcher waiter;
        EXPECT_FALSE(handle_->acquire(checks, clock_.now(), results, waiter)) << "Redis answers later";
        run_until_answered(io_, *handle_);
        return waiter.reply.value_or(StoreReply::unavailable);
    }

    FakeClock clock_;
    std::optional<Redis> redis_;
    std::optional<RedisStore> store_;
    boost::asio::io_context io_;
    std::shared_ptr<RedisHandle> handle_;
};

}  // namespace sluice::testing
