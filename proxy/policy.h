// The quotas in force, compiled for the request path: matcher, limit
// parameters and precomputed refusal bodies, plus the settings of
// /v1/sys/quotas/config. Immutable; a change builds a new Policy and swaps it
// in.
#pragma once

#include "proxy/limit_algorithms.h"
#include "proxy/quota.h"
#include "proxy/quota_matcher.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// How often a quota decided each way; kept by name across policy changes so
// the metrics' counters only ever grow.
struct QuotaCounters {
    std::atomic<std::uint64_t> allowed{0};   // this quota let the request through
    std::atomic<std::uint64_t> limited{0};   // this quota refused it
    std::atomic<std::uint64_t> dry_run{0};   // this dry-run quota would have refused it
};

struct CompiledQuota {
    Quota spec;
    LimitParams params;
    std::uint64_t id = 0;       // identity of its counters: same name and limit, same id
    std::string header_name;    // KeyKind::header: the name in lower case
    RefusalResponse refusal;    // the configured one, or the default JSON body
    std::shared_ptr<QuotaCounters> counters;
};

// Vault's /v1/sys/quotas/config.
struct QuotaSettings {
    bool response_headers = true;  // rate-limit headers on allowed responses (refusals always get them)
    bool audit_logging = false;    // one log line per refusal
    // Never limited: exact paths, or prefixes ending in '*'.
    std::vector<std::string> exempt_paths;
    bool operator==(const QuotaSettings&) const = default;
};

// "" when `path` is a valid exempt path, else the reason.
std::string exempt_path_error(std::string_view path);

class Policy {
public:
    // `quotas` must be valid (the config loader checked them, conflicts too).
    // Quotas named as in `previous` keep counting on its counters.
    Policy(std::vector<Quota> quotas, HeaderStyle default_style, QuotaSettings settings = {},
           const Policy* previous = nullptr);

    const std::vector<CompiledQuota>& quotas() const { return quotas_; }
    const QuotaMatcher& matcher() const { return matcher_; }
    HeaderStyle default_style() const { return default_style_; }
    const QuotaSettings& settings() const { return settings_; }
    bool exempt(std::string_view path) const;
    const CompiledQuota* find(std::string_view name) const;

private:
    std::vector<CompiledQuota> quotas_;
    QuotaMatcher matcher_;
    HeaderStyle default_style_;
    QuotaSettings settings_;
};

std::string default_refusal_body(const std::string& quota_name);

}  // namespace sluice
