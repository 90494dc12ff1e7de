#include "limit/policy.h"

#include "limit/keyed_hash.h"

#include <algorithm>
#include <cctype>

namespace sluice {

std::uint64_t QuotaCounters::total(Outcome outcome) const {
    std::uint64_t sum = 0;
    for (const Stripe& stripe : stripes_)
        sum += stripe[static_cast<std::size_t>(outcome)].load(std::memory_order_relaxed);
    return sum;
}

std::size_t QuotaCounters::this_threads_stripe() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return mine;
}

namespace {

// Counters belong to a quota's name and limit: a reload that leaves both
// alone keeps them; any change to what is counted starts afresh.
std::uint64_t counter_identity(const Quota& q, const LimitParams& p, const std::string& header) {
    std::string id = q.name;
    id += '\0';
    id += to_string(q.key.kind);
    id += header;
    id += '\0';
    id += to_string(p.algorithm);
    for (std::int64_t v : {std::int64_t{p.limit}, p.interval, p.emission, p.block}) {
        id += '\0';
        id += std::to_string(v);
    }
    // A fixed key, not std::hash: the identity is saved with the counters
    // (counters.bin) and must mean the same to the next build.
    static const KeyedHasher stable(0x736c756963652d71, 0x756f74612d696473);
    return stable(id);
}

}  // namespace

std::string default_refusal_body(const std::string& quota_name) {
    // Quota names are [A-Za-z0-9._-]: nothing to escape.
    return R"({"error":"rate_limit_exceeded","message":"Too many requests. Rate limit exceeded.","quota":")" +
           quota_name + "\"}";
}

std::string exempt_path_error(std::string_view path) {
    if (!path.starts_with('/')) return "must start with '/'";
    const std::size_t star = path.find('*');
    if (star != std::string_view::npos && star != path.size() - 1) return "'*' is only allowed at the end";
    return "";
}

Policy::Policy(std::vector<Quota> quotas, HeaderStyle default_style, QuotaSettings settings, const Policy* previous,
               PathMatching path_matching)
    : matcher_(quotas, path_matching),
      default_style_(default_style),
      settings_(std::move(settings)),
      path_matching_(path_matching) {
    for (const std::string& path : settings_.exempt_paths) exempt_.push_back(PathPattern::parse(path, path_matching));
    quotas_.reserve(quotas.size());
    for (Quota& q : quotas) {
        CompiledQuota c;
        c.params = LimitParams::from(q);
        c.header_name = q.key.header;
        std::transform(c.header_name.begin(), c.header_name.end(), c.header_name.begin(),
                       [](unsigned char ch) { return std::tolower(ch); });
        c.id = counter_identity(q, c.params, c.header_name);
        c.refusal = q.response.value_or(RefusalResponse{});
        if (c.refusal.body.empty()) c.refusal.body = default_refusal_body(q.name);
        const CompiledQuota* before = previous ? previous->find(q.name) : nullptr;
        c.counters = before ? before->counters : std::make_shared<QuotaCounters>();
        c.spec = std::move(q);
        quotas_.push_back(std::move(c));
    }
}

bool Policy::exempt(std::string_view path) const {
    return std::any_of(exempt_.begin(), exempt_.end(), [&](const PathPattern& p) { return p.matches(path); });
}

const CompiledQuota* Policy::find(std::string_view name) const {
    for (const CompiledQuota& q : quotas_)
        if (q.spec.name == name) return &q;
    return nullptr;
}

}  // namespace sluice
