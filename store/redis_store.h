// Quota state shared by a fleet through Redis (README, "Fleet mode"): every
// host's requests count on the same keys, with the same algorithms as the
// local store, evaluated by one script call per request. This is the shared
// side: settings, the handles of the event loops, and the admin thread's
// queries.
#pragma once

#include "limit/quota_store.h"
#include "redis/blocking_router.h"
#include "redis/redis_url.h"
#include "redis/reply.h"
#include "store/redis_quota_call.h"
#include "store/redis_store_stats.h"

#include <utility>  // before Asio (GCC 12)

#include <boost/asio/io_context.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice {

class RedisHandle;

// Redis gave no answer (down, unreachable, too slow), as opposed to an error reply.
struct RedisUnreachable : StoreUnavailable {
    using StoreUnavailable::StoreUnavailable;
};

struct RedisStoreSettings {
    RedisEndpoint endpoint;              // one Redis
    std::vector<RedisEndpoint> cluster;  // or the seed nodes of a Redis Cluster
    std::string password;                // empty: no AUTH (the ACL user is the endpoint's)
    std::string key_prefix = "sluice:";
    Nanos timeout = 5'000'000;  // per call: no request waits longer
    RedisClock clock = RedisClock::redis;
    std::size_t refusal_cache_keys = 100'000;  // per event loop
    int failures_to_open = 5;                  // the circuit breaker's
    Nanos probe_interval = 1'000'000'000;
};

// The longest span (interval, block interval, refill time) the script counts
// exactly: its doubles hold integers below 2^53, and a sliding window's state
// reaches two intervals ahead. 2^52 ns is 52 days.
constexpr Nanos kRedisMaxSpan = Nanos{1} << 52;

// "Redis host:port" or "Redis Cluster (seed, seed)", for messages.
std::string describe(const RedisStoreSettings& settings);

// The one Redis, or the cluster's seed nodes.
std::vector<RedisEndpoint> seeds(const RedisStoreSettings& settings);

// How long a call that may wait (the admin thread's, the fleet sync's) waits
// for Redis: longer than a request does, as nothing queues behind it.
std::chrono::milliseconds query_timeout(const RedisStoreSettings& settings);

// "" when the Redis script counts `params` exactly, else the reason.
std::string redis_span_error(const LimitParams& params);

class RedisStore final : public QuotaStore {
public:
    RedisStore(RedisStoreSettings settings, const Clock& clock);
    ~RedisStore() override;

    // The handle of the event loop `io` runs: its own pipelined connection.
    // Used only on that loop; it must be gone before `io` is.
    std::shared_ptr<RedisHandle> handle_for(boost::asio::io_context& io);

    // On the calling thread, waiting for Redis longer than a request does
    // (nothing waits behind them); they throw std::runtime_error when Redis
    // does not answer.
    LimitState peek(std::uint64_t key, std::uint64_t identity) const override;
    void forget(std::uint64_t key, std::uint64_t identity) override;

    // Throws RedisUnreachable when Redis does not answer.
    void ping() const;

    // Records this host's fleet key fingerprint in Redis if none is, and
    // returns why not when Redis holds another one (the hosts would count one
    // client under different keys); "" when they agree.
    std::string claim_fleet_key(std::string_view fingerprint) const;

    const RedisStoreStats& stats() const { return stats_; }
    const RedisStoreSettings& settings() const { return settings_; }

private:
    // One command, waiting for Redis longer than a request would, following
    // a Redis Cluster's redirects. Throws RedisUnreachable when no node
    // answers, std::runtime_error for an error reply (but NOSCRIPT).
    RedisReplyPtr call(std::string_view name, std::string_view command) const;

    RedisStoreSettings settings_;
    const Clock& clock_;
    RedisStoreStats stats_;
    mutable RedisBlockingRouter router_;  // the admin thread's
    // Every loop's handle, to clear a forgotten key from its refusal cache.
    // The loops run until after the last forget() (the admin API stops first).
    struct LoopHandle {
        boost::asio::io_context* io;
        std::weak_ptr<RedisHandle> handle;
    };
    std::mutex handles_mutex_;
    std::vector<LoopHandle> handles_;
};

}  // namespace sluice
