#include "limit/limiter.h"

#include "limit/client_identity.h"

#include <stdexcept>

namespace sluice {
namespace {

// The text a quota counts for this request; nullopt when the request does
// not carry it (such a request is not counted by that quota).
std::optional<std::string_view> key_text(const CompiledQuota& q, const RequestFacts& r) {
    switch (q.spec.key.kind) {
    case KeyKind::client_ip: return r.client_ip;
    case KeyKind::global: return std::string_view{};
    case KeyKind::bearer_token: {
        const std::string_view token = bearer_token(r.headers ? r.headers->get("authorization") : "");
        if (token.empty()) return std::nullopt;
        return token;
    }
    case KeyKind::header: {
        const std::string_view value = r.headers ? r.headers->get(q.header_name) : "";
        if (value.empty()) return std::nullopt;
        return value;
    }
    }
    return std::nullopt;
}

std::atomic<std::uint64_t> next_limiter_id{1};

// Hashes a key's text alone (QuotaCheck::identity); quotas hash it with their id.
constexpr std::uint64_t kIdentitySeed = 0;

struct PolicyHolder {
    std::shared_ptr<const Policy> policy;
};

// Counts each applying quota's own verdict, for the metrics.
void count_outcomes(const Decision& d) {
    for (std::size_t i = 0; i < d.outcomes.size(); ++i) {
        const QuotaOutcome& o = d.outcomes[i];
        using Outcome = QuotaCounters::Outcome;
        o.quota->counters->count(o.allowed                                  ? Outcome::allowed
                                 : o.quota->spec.mode == QuotaMode::dry_run ? Outcome::dry_run
                                                                            : Outcome::limited);
    }
}

std::string block_origin(const CompiledQuota& q) { return "quota:" + q.spec.name; }

}  // namespace

Limiter::Limiter(std::shared_ptr<const Policy> policy, QuotaStore& store, const Clock& clock, KeyedHasher hasher)
    : policy_(std::move(policy)),
      id_(next_limiter_id++),
      store_(store),
      clock_(clock),
      hasher_(hasher) {}

std::shared_ptr<const Policy> Limiter::policy() const {
    std::lock_guard lock(policy_mutex_);
    return policy_;
}

void Limiter::set_policy(std::shared_ptr<const Policy> policy) {
    std::lock_guard lock(policy_mutex_);
    policy_ = std::move(policy);
    generation_.fetch_add(1, std::memory_order_release);
}

std::shared_ptr<const Policy> Limiter::current_policy() const {
    thread_local struct {
        std::uint64_t limiter = 0;
        std::uint64_t generation = 0;
        std::shared_ptr<PolicyHolder> holder;
    } cache;
    const std::uint64_t generation = generation_.load(std::memory_order_acquire);
    if (cache.limiter != id_ || cache.generation != generation || !cache.holder) {
        cache.holder = std::make_shared<PolicyHolder>(PolicyHolder{policy()});
        cache.limiter = id_;
        cache.generation = generation;
    }
    // Shares the holder's (thread-private) count, points at the policy.
    return {cache.holder, cache.holder->policy.get()};
}

Decision Limiter::prepare(const RequestFacts& request, StoreCall& call) const {
    call.checks.clear();
    Decision d;
    d.policy = current_policy();
    const Policy& policy = *d.policy;
    d.path = normalize_path(request.target, policy.path_matching());
    if (policy.exempt(d.path)) {
        d.exempt = true;
        return d;
    }
    if (blocks_ && blocks_->refuses_anyone()) {
        const Nanos now = clock_.now();
        const std::optional<IpAddress> client = parse_ip(request.client_ip);
        const std::optional<Nanos> until = client ? blocks_->refused_until(*client, now) : std::nullopt;
        if (until) {
            d.allowed = false;
            d.blocked_for = *until - now;
            return d;
        }
    }

    thread_local std::vector<std::size_t> matched;
    policy.matcher().match(request.method, d.path, matched);
    if (matched.empty()) return d;

    // Before anything is counted. (A second Authorization never gets here:
    // the request parser refuses it.)
    for (std::size_t index : matched) {
        const CompiledQuota& q = policy.quotas()[index];
        if (q.spec.key.kind == KeyKind::header && request.headers && request.headers->repeated(q.header_name)) {
            d.allowed = false;
            d.ambiguous_header = q.header_name;
            return d;
        }
    }

    for (std::size_t index : matched) {
        const CompiledQuota& q = policy.quotas()[index];
        const std::optional<std::string_view> text = key_text(q, request);
        if (!text) continue;
        call.checks.push_back(
            {&q.params, hasher_(*text, q.id), q.spec.mode == QuotaMode::enforce, hasher_(*text, kIdentitySeed)});
        d.outcomes.push_back({.quota = &q});
    }
    if (call.checks.empty()) return d;
    call.results.assign(call.checks.size(), CheckResult{});
    call.now = clock_.now();
    call.client_ip = request.client_ip;
    return d;
}

void Limiter::finish(Decision& d, const StoreCall& call, StoreReply reply) const {
    if (reply == StoreReply::unavailable) {
        d.store_unavailable = true;
        d.allowed = on_store_error_ == OnStoreError::open;
        d.outcomes.clear();  // no quota's verdict is known
        return;
    }
    d.allowed = reply == StoreReply::admitted;
    // Outcomes are kept in the checks' order, without the skipped ones.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < call.results.size(); ++i) {
        if (call.results[i].skipped) continue;
        const int index = static_cast<int>(kept);
        QuotaOutcome& o = d.outcomes[kept++];
        o = {.quota = d.outcomes[i].quota};
        const Evaluation& e = call.results[i].evaluation;
        o.allowed = e.allowed;
        o.remaining = e.remaining;
        o.reset = e.reset;
        o.retry_after = e.retry_after;
        o.store_full = call.results[i].store_full;
        if (!d.allowed && d.refusing < 0 && call.checks[i].enforce && !e.allowed) d.refusing = index;
        const QuotaOutcome* best = d.headline < 0 ? nullptr : &d.outcomes[d.headline];
        if (!best || o.remaining < best->remaining || (o.remaining == best->remaining && o.reset > best->reset))
            d.headline = index;
    }
    d.outcomes.resize(kept);
    count_outcomes(d);
    if (d.refusing >= 0) {
        d.headline = d.refusing;
        const QuotaOutcome& refusal = d.outcomes[d.refusing];
        if (blocks_ && !refusal.store_full && refusal.quota->spec.key.kind == KeyKind::client_ip &&
            refusal.quota->params.block > 0) {
            if (const std::optional<IpAddress> client = parse_ip(call.client_ip))
                blocks_->client_blocked(*client, call.now + refusal.retry_after, block_origin(*refusal.quota));
        }
    }
}

Decision Limiter::decide(const RequestFacts& request, QuotaStoreHandle& store) const {
    // Never woken: a store that defers is refused below.
    struct : StoreWaiter {
        void resume(StoreReply) override {}
    } unused;
    StoreCall call;
    Decision d = prepare(request, call);
    if (call.checks.empty()) return d;
    const std::optional<StoreReply> reply = call.ask(store, unused);
    if (!reply) throw std::logic_error("Limiter::decide needs a store that answers at once");
    finish(d, call, *reply);
    return d;
}

std::optional<Limiter::KeyUsage> Limiter::usage(std::string_view name, std::string_view key) const {
    std::shared_ptr<const Policy> policy = this->policy();
    const CompiledQuota* quota = policy->find(name);
    if (!quota) return std::nullopt;
    const std::string_view text = quota->spec.key.kind == KeyKind::global ? std::string_view{} : key;
    const Nanos now = clock_.now();
    const LimitState state = store_.peek(hasher_(text, quota->id), hasher_(text, kIdentitySeed));
    return KeyUsage{quota, sluice::usage(quota->params, state, now), now, std::move(policy)};
}

void Limiter::forgive(std::string_view client_ip) {
    const std::shared_ptr<const Policy> policy = this->policy();
    for (const CompiledQuota& q : policy->quotas())
        if (q.spec.key.kind == KeyKind::client_ip && q.params.block > 0)
            store_.forget(hasher_(client_ip, q.id), hasher_(client_ip, kIdentitySeed));
}

}  // namespace sluice
