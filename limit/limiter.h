// The limiter engine: given what a request is, decide whether it may pass and
// what each applying quota has left. No I/O; time comes from the injected
// clock and state from the injected store.
#pragma once

#include "limit/block_list.h"
#include "common/clock.h"
#include "limit/keyed_hash.h"
#include "limit/policy.h"
#include "limit/quota_store.h"

#include <boost/container/small_vector.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

namespace sluice {

// Case-insensitive header lookup; empty when the header is absent.
class HeaderLookup {
public:
    virtual ~HeaderLookup() = default;
    virtual std::string_view get(std::string_view name) const = 0;
    // Whether the request carries `name` more than once.
    virtual bool repeated(std::string_view /*name*/) const { return false; }
};

struct RequestFacts {
    std::string_view method;
    std::string_view target;     // the request target; decide() normalizes it by the policy's path matching
    std::string_view client_ip;  // canonical text (resolve_client_ip)
    const HeaderLookup* headers = nullptr;
};

struct QuotaOutcome {
    const CompiledQuota* quota = nullptr;
    bool allowed = true;  // by this quota; a dry-run quota says what it would do
    std::uint32_t remaining = 0;
    Nanos reset = 0;
    Nanos retry_after = 0;
    bool store_full = false;
};

struct Decision {
    bool allowed = true;
    bool exempt = false;    // the path is exempt from every quota
    std::string path;       // the request's path as quotas matched it (normalize_path)
    Nanos blocked_for = 0;  // > 0: refused because the client is on the block list, for this long
    boost::container::small_vector<QuotaOutcome, 4> outcomes;
    int headline = -1;  // most restrictive outcome (fewest remaining), for headers
    int refusing = -1;  // the enforcing outcome that refused the request
    // Not empty: refused as a bad request, because this header, which a quota
    // counts by, came more than once (which one would the upstream read?).
    std::string_view ambiguous_header;
    // The store could not answer: allowed (on_error open, no outcomes) or
    // refused (closed) without any quota's verdict.
    bool store_unavailable = false;
    std::shared_ptr<const Policy> policy;  // keeps outcomes' quota pointers alive
};

// What one request asks of the store. The caller keeps it, with the
// request's client_ip text, from prepare() until finish().
struct StoreCall {
    boost::container::small_vector<QuotaCheck, 4> checks;  // one per outcome
    boost::container::small_vector<CheckResult, 4> results;
    Nanos now = 0;
    std::string_view client_ip;  // a client_ip quota's refusal may block it

    // The call itself: the store's answer now, or nullopt and `waiter` later.
    std::optional<StoreReply> ask(QuotaStoreHandle& store, StoreWaiter& waiter) {
        return store.acquire({checks.data(), checks.size()}, now, {results.data(), results.size()}, waiter);
    }
};

// A decision is made in three steps, so that the store may answer later (a
// network store) while the limiter itself stays free of I/O:
//   prepare (match quotas, build the checks) -> the store -> finish.
class Limiter {
public:
    Limiter(std::shared_ptr<const Policy> policy, QuotaStore& store, const Clock& clock, KeyedHasher hasher);

    // The decision so far. It is final when call.checks is empty (the path is
    // exempt, the client blocked, a header ambiguous, or no quota counts the
    // request); otherwise ask the store call.checks and pass its reply to finish.
    Decision prepare(const RequestFacts& request, StoreCall& call) const;
    // The outcomes, the headline, the refusal and the block it may start; an
    // unavailable store is answered by set_on_store_error's policy.
    void finish(Decision& decision, const StoreCall& call, StoreReply reply) const;

    // All three steps with a store that answers at once (tests, benchmarks);
    // throws std::logic_error when the store defers its answer.
    Decision decide(const RequestFacts& request, QuotaStoreHandle& store) const;

    // What a request gets when the store is unavailable; before serving.
    void set_on_store_error(OnStoreError policy) { on_store_error_ = policy; }

    std::shared_ptr<const Policy> policy() const;
    void set_policy(std::shared_ptr<const Policy> policy);
    // Not owned; set before the first decision, or nullptr. Blocked clients
    // are refused before any quota; a client_ip quota's block is added to it.
    void set_block_list(BlockList* blocks) { blocks_ = blocks; }

    // Where `key` (the IP, token or header value in clear, as the quota
    // counts it) stands with quota `name`; nullopt when there is no such quota.
    struct KeyUsage {
        const CompiledQuota* quota;
        Usage usage;
        Nanos now;
        std::shared_ptr<const Policy> policy;  // keeps `quota` alive
    };
    std::optional<KeyUsage> usage(std::string_view name, std::string_view key) const;

    // Ends the blocks that client_ip quotas hold on `client_ip` (their state
    // starts afresh).
    void forgive(std::string_view client_ip);

private:
    // The policy as this thread holds it. Every decision keeps its policy
    // alive; counting those references on one shared control block made two
    // threads slower than one, so each thread counts on a holder of its own
    // and looks at the shared pointer only when the generation moves.
    std::shared_ptr<const Policy> current_policy() const;

    mutable std::mutex policy_mutex_;
    std::shared_ptr<const Policy> policy_;
    std::atomic<std::uint64_t> generation_{0};
    std::uint64_t id_;  // tells this limiter's thread-local holders from another's
    QuotaStore& store_;
    const Clock& clock_;
    KeyedHasher hasher_;
    BlockList* blocks_ = nullptr;
    OnStoreError on_store_error_ = OnStoreError::open;
};

}  // namespace sluice
