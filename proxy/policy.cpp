#include "proxy/policy.h"

#include <algorithm>
#include <cctype>
#include <functional>

namespace sluice {
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
    return std::hash<std::string>{}(id);
}

}  // namespace

std::string default_refusal_body(const std::string& quota_name) {
    // Quota names are [A-Za-z0-9._-]: nothing to escape.
    return R"({"error":"rate_limit_exceeded","message":"Too many requests. Rate limit exceeded.","quota":")" +
           quota_name + "\"}";
}

Policy::Policy(std::vector<Quota> quotas, HeaderStyle default_style)
    : matcher_(quotas), default_style_(default_style) {
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
        c.spec = std::move(q);
        quotas_.push_back(std::move(c));
    }
}

}  // namespace sluice
