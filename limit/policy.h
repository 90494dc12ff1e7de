// The quotas in force, compiled for the request path: matcher, limit
// parameters and precomputed refusal bodies, plus the settings of
// /v1/sys/quotas/config. Immutable; a change builds a new Policy and swaps it
// in.
#pragma once

#include "limit/algorithms.h"
#include "limit/quota.h"
#include "limit/quota_matcher.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// How often a quota decided each way; kept by name across policy changes so
// the metrics' counters only ever grow. Each thread counts into its own
// cache line: one shared line, written on every decision by both proxy
// threads, halved limiter_bench's two-thread throughput.
class QuotaCounters {
public:
    enum class Outcome : std::size_t {
        allowed,  // this quota let the request through
        limited,  // this quota refused it
        dry_run,  // this dry-run quota would have refused it
    };

    void count(Outcome outcome) { slot(this_threads_stripe(), outcome).fetch_add(1, std::memory_order_relaxed); }
    std::uint64_t total(Outcome outcome) const;

private:
    static constexpr std::size_t kStripes = 16;  // threads beyond it share stripes, still correct
    static std::size_t this_threads_stripe();

    std::atomic<std::uint64_t>& slot(std::size_t stripe, Outcome outcome) {
        return stripes_[stripe][static_cast<std::size_t>(outcome)];
    }

    struct alignas(64) Stripe : std::array<std::atomic<std::uint64_t>, 3> {};
    std::array<Stripe, kStripes> stripes_{};
};

struct CompiledQuota {
    Quota spec;
    LimitParams params;
    std::uint64_t id = 0;     // identity of its counters: same name and limit, same id
    std::string header_name;  // KeyKind::header: the name in lower case
    RefusalResponse refusal;  // the configured one, or the default JSON body
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
           const Policy* previous = nullptr, PathMatching path_matching = {});

    const std::vector<CompiledQuota>& quotas() const { return quotas_; }
    const QuotaMatcher& matcher() const { return matcher_; }
    HeaderStyle default_style() const { return default_style_; }
    const QuotaSettings& settings() const { return settings_; }
    const PathMatching& path_matching() const { return path_matching_; }
    bool exempt(std::string_view path) const;  // `path` normalized
    const CompiledQuota* find(std::string_view name) const;

private:
    std::vector<CompiledQuota> quotas_;
    QuotaMatcher matcher_;
    HeaderStyle default_style_;
    QuotaSettings settings_;
    PathMatching path_matching_;
    std::vector<PathPattern> exempt_;
};

std::string default_refusal_body(const std::string& quota_name);

}  // namespace sluice
