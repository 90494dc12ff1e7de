// One event loop's way to the Redis store: its connections (one Redis, or
// each node of a Redis Cluster), on which every request's script calls are
// pipelined; a per-call deadline; a circuit breaker; and the refusal cache
// that answers refused keys without a round trip. Everything here runs on
// that loop's thread.
#pragma once

#include "limit/quota_store.h"
#include "store/circuit_breaker.h"
#include "store/redis_router.h"
#include "store/refusal_cache.h"
#include "store/reuse_pool.h"

#include <memory>
#include <vector>

namespace sluice {

struct RedisStoreSettings;
struct RedisStoreStats;

class RedisHandle final : public QuotaStoreHandle {
public:
    RedisHandle(boost::asio::io_context& io, const RedisStoreSettings& settings, RedisStoreStats& stats,
                const Clock& clock);
    ~RedisHandle() override;

    std::optional<StoreReply> acquire(std::span<const QuotaCheck> checks, Nanos now, std::span<CheckResult> results,
                                      StoreWaiter& waiter) override;

    // Clears a key from the refusal cache (it was unblocked); on this loop.
    void forget(std::uint64_t key) {
        refusals_.forget(key);
        ++forgets_;
    }

    // Requests whose calls Redis has not answered yet (also those answered
    // unavailable at their deadline: their calls stay until Redis answers).
    std::size_t in_flight() const { return calls_.in_use(); }

private:
    class Call;
    class Part;

    // A refusal of the whole request from the cache, when one of its
    // enforcing keys is still refused.
    bool refused_from_cache(std::span<const QuotaCheck> checks, Nanos now, std::span<CheckResult> results);
    void succeeded();
    void failed(std::string_view reason);

    boost::asio::io_context& io_;
    const RedisStoreSettings& settings_;
    RedisStoreStats& stats_;
    const Clock& clock_;
    RedisRouter router_;
    CircuitBreaker breaker_;
    RefusalCache refusals_;
    // Counts forget(): a reply computed before an unblock must not put the
    // key's old refusal back in the cache.
    std::uint64_t forgets_ = 0;
    // Calls stay until Redis answers them, even after their deadline passed
    // (the reply still comes, and is dropped).
    ReusePool<Call> calls_;
};

}  // namespace sluice
