#include "proxy/rate_limit_headers.h"

namespace sluice {
namespace {

constexpr Nanos kSecond = 1'000'000'000;

std::string seconds(Nanos n) { return std::to_string(ceil_seconds(n)); }

// A refused key's headers say it has nothing left, whatever its algorithm's
// arithmetic would show for a dry-run or blocked state.
std::uint32_t shown_remaining(const QuotaOutcome& o) { return o.allowed ? o.remaining : 0; }

std::string ietf_item(const QuotaOutcome& o, bool policy) {
    std::string item = "\"" + o.quota->spec.name + "\"";
    if (policy) {
        item += ";q=" + std::to_string(o.quota->params.limit) + ";w=" + seconds(o.quota->params.interval);
    } else {
        item += ";r=" + std::to_string(shown_remaining(o)) + ";t=" + seconds(o.reset);
    }
    return item;
}

std::string ietf_list(const Decision& d, bool policy) {
    std::string list;
    for (const QuotaOutcome& o : d.outcomes) {
        if (!list.empty()) list += ", ";
        list += ietf_item(o, policy);
    }
    return list;
}

}  // namespace

long long ceil_seconds(Nanos n) { return n <= 0 ? 0 : (n + kSecond - 1) / kSecond; }

HeaderFields rate_limit_headers(const Decision& d) {
    if (d.headline < 0 || !d.policy->settings().response_headers) return {};
    const QuotaOutcome& o = d.outcomes[d.headline];
    const LimitParams& p = o.quota->params;
    switch (o.quota->spec.headers.value_or(d.policy->default_style())) {
    case HeaderStyle::draft:
        return {{"RateLimit-Limit", std::to_string(p.limit)},
                {"RateLimit-Remaining", std::to_string(shown_remaining(o))},
                {"RateLimit-Reset", seconds(o.reset)}};
    case HeaderStyle::x_ratelimit:
        return {{"X-RateLimit-Limit", std::to_string(p.limit)},
                {"X-RateLimit-Remaining", std::to_string(shown_remaining(o))},
                {"X-RateLimit-Reset", seconds(o.reset)},
                {"X-RateLimit-Window", seconds(p.interval)}};
    case HeaderStyle::ietf: return {{"RateLimit-Policy", ietf_list(d, true)}, {"RateLimit", ietf_list(d, false)}};
    case HeaderStyle::none: return {};
    }
    return {};
}

Refusal make_refusal(const Decision& d) {
    if (d.store_unavailable) {
        return {503,
                R"({"error":"service_unavailable","message":"The quota store is unavailable. Retry later."})",
                {{"Retry-After", "1"}}};
    }
    if (d.blocked_for > 0) {
        return {429,
                R"({"error":"blocked","message":"This client is blocked. Retry later."})",
                {{"Retry-After", std::to_string(std::max(1LL, ceil_seconds(d.blocked_for)))}}};
    }
    const QuotaOutcome& o = d.outcomes[d.refusing];
    Refusal r;
    r.status = o.quota->refusal.status;
    r.body = o.quota->refusal.body;
    r.headers.emplace_back("Retry-After", std::to_string(std::max(1LL, ceil_seconds(o.retry_after))));
    for (auto& field : rate_limit_headers(d)) r.headers.push_back(std::move(field));
    for (const auto& field : o.quota->refusal.headers) r.headers.push_back(field);
    return r;
}

}  // namespace sluice
