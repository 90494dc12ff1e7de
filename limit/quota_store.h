// Where quota state lives: the seam every store plugs into. The embedded
// store is store/local_store; a network store (Redis) implements the same
// contract for several hosts, and tests/unit/store/contract_test.cpp holds
// every store to it.
#pragma once

#include "limit/algorithms.h"

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>

namespace sluice {

// One quota to check for one key. `key` is already a keyed hash that includes
// the quota's identity, so the store never sees a token or API key in clear.
// `identity` is the keyed hash of the IP, token or header value alone: a
// network store keeps one client's keys together by it (a Redis hash tag).
struct QuotaCheck {
    const LimitParams* params = nullptr;
    std::uint64_t key = 0;
    bool enforce = true;  // false: dry run, never refuses
    std::uint64_t identity = 0;
};

struct CheckResult {
    Evaluation evaluation;
    bool store_full = false;  // no room to track this key: refused (fail closed)
    // Not evaluated: the store refused the request on another check alone
    // (a network store's cached refusal), so this quota's state is unknown.
    bool skipped = false;
};

// A store's answer to one request's checks.
enum class StoreReply {
    admitted,     // every enforcing check allowed; every state advanced
    refused,      // an enforcing check refused; nothing was consumed
    unavailable,  // the store could not answer in time; nothing is known, results are unset
};

// Wakes a request that waits for its store's answer.
class StoreWaiter {
public:
    virtual void resume(StoreReply reply) = 0;

protected:
    ~StoreWaiter() = default;
};

// One event loop's way to the store (a network store keeps its connection
// per loop, as the proxy keeps its upstream pool).
class QuotaStoreHandle {
public:
    virtual ~QuotaStoreHandle() = default;

    // Evaluates every check as one atomic step: if all enforcing checks allow,
    // all states advance; otherwise none is consumed and only the refusing
    // quotas that block start their block. `results` has checks.size() slots.
    // A store that can answer at once returns its reply (on the caller's
    // stack frame, nothing allocated). Otherwise it returns nullopt and later
    // calls waiter.resume exactly once, on the caller's event loop, never
    // from within this call; `checks`, `results` and `waiter` must live until then.
    virtual std::optional<StoreReply> acquire(std::span<const QuotaCheck> checks, Nanos now,
                                              std::span<CheckResult> results, StoreWaiter& waiter) = 0;
};

// What peek and forget throw when a network store cannot answer.
struct StoreUnavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// What is asked of the store outside requests (usage queries, unblocks),
// from any thread; these may wait for the store.
class QuotaStore {
public:
    virtual ~QuotaStore() = default;

    // Current state of one key without changing it (usage queries); `key`
    // and `identity` as in QuotaCheck.
    virtual LimitState peek(std::uint64_t key, std::uint64_t identity) const = 0;

    // Drops one key's state: it starts afresh (an unblock through the API).
    virtual void forget(std::uint64_t key, std::uint64_t identity) = 0;
};

// What a request gets when its store is unavailable (config `on_error`).
enum class OnStoreError {
    open,    // forwarded, without rate-limit headers
    closed,  // refused with 503 and Retry-After
};

}  // namespace sluice
