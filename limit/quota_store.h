// Where quota state lives. The embedded store is store/local_store; a Redis-backed
// store can implement the same contract for several hosts.
#pragma once

#include "limit/algorithms.h"

#include <cstdint>
#include <span>

namespace sluice {

// One quota to check for one key. `key` is already a keyed hash that includes
// the quota's identity, so the store never sees a token or API key in clear.
struct QuotaCheck {
    const LimitParams* params = nullptr;
    std::uint64_t key = 0;
    bool enforce = true;  // false: dry run, never refuses
};

struct CheckResult {
    Evaluation evaluation;
    bool store_full = false;  // no room to track this key: refused (fail closed)
};

class QuotaStore {
public:
    virtual ~QuotaStore() = default;

    // Evaluates every check as one atomic step: if all enforcing checks allow,
    // all states advance; otherwise none is consumed and only the refusing
    // quotas that block start their block. `results` has checks.size() slots.
    virtual bool acquire(std::span<const QuotaCheck> checks, Nanos now, std::span<CheckResult> results) = 0;

    // Current state of one key without changing it (usage queries).
    virtual LimitState peek(std::uint64_t key) const = 0;

    // Drops one key's state: it starts afresh (an unblock through the API).
    virtual void forget(std::uint64_t key) = 0;
};

}  // namespace sluice
