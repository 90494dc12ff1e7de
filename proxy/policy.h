// The quotas in force, compiled for the request path: matcher, limit
// parameters and precomputed refusal bodies. Immutable; a reload builds a new
// Policy and swaps it in.
#pragma once

#include "proxy/limit_algorithms.h"
#include "proxy/quota.h"
#include "proxy/quota_matcher.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice {

struct CompiledQuota {
    Quota spec;
    LimitParams params;
    std::uint64_t id = 0;       // identity of its counters: same name and limit, same id
    std::string header_name;    // KeyKind::header: the name in lower case
    RefusalResponse refusal;    // the configured one, or the default JSON body
};

class Policy {
public:
    // `quotas` must be valid (the config loader checked them, conflicts too).
    Policy(std::vector<Quota> quotas, HeaderStyle default_style);

    const std::vector<CompiledQuota>& quotas() const { return quotas_; }
    const QuotaMatcher& matcher() const { return matcher_; }
    HeaderStyle default_style() const { return default_style_; }

private:
    std::vector<CompiledQuota> quotas_;
    QuotaMatcher matcher_;
    HeaderStyle default_style_;
};

std::string default_refusal_body(const std::string& quota_name);

}  // namespace sluice
