// Which quotas apply to a request (method + path), with Vault's precedence:
// per key kind only the most specific matching quota applies (exact path, with
// method before without; then templates; then the longest prefix glob; then
// ""), plus every matching quota of that kind marked `cumulative`.
#pragma once

#include "limit/quota.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// How leniently request paths are matched against quota paths. Routers
// differ (Express and Rails ignore case or a trailing slash, Flask does not);
// the lenient default counts every spelling a router might route to the
// quota's endpoint, at the price of counting a distinct route on an upstream
// that tells them apart.
struct PathMatching {
    bool case_insensitive = true;
    bool ignore_trailing_slash = true;
    bool operator==(const PathMatching&) const = default;
};

enum class PathKind : std::uint8_t { exact, template_, prefix, global };

struct PathPattern {
    PathKind kind = PathKind::global;
    std::string text;                   // exact path, or the prefix before '*'
    std::vector<std::string> segments;  // template: literal segments, "" for a {param}

    // `configured` must be valid; it is compared as `matching` says.
    static PathPattern parse(std::string_view configured, const PathMatching& matching = {});
    bool matches(std::string_view path) const;
};

// Why a configured path is not valid, or empty if it is.
std::string path_error(std::string_view configured);

// The path a request target counts as: the query dropped, every
// percent-encoding decoded (WSGI servers decode "%2F" before routing), path
// parameters (";jsessionid=...", which servlet containers strip) dropped, a
// backslash taken for a slash,
// "." and ".." resolved, repeated slashes merged; then case and a trailing
// slash as `matching` says. So "/v1//Auth%2F%65xchange;x/" cannot slip past a
// quota on "/v1/auth/exchange".
std::string normalize_path(std::string_view target, const PathMatching& matching = {});

class QuotaMatcher {
public:
    QuotaMatcher() = default;
    QuotaMatcher(const std::vector<Quota>& quotas, const PathMatching& matching);

    // Indexes into the quota vector, in no particular order.
    void match(std::string_view method, std::string_view path, std::vector<std::size_t>& out) const;

private:
    struct Entry {
        std::size_t index;
        PathPattern pattern;
        std::string method;
        QuotaKey key;
        bool cumulative;
        std::uint64_t rank;  // higher = more specific
    };
    std::vector<Entry> entries_;  // sorted by rank, most specific first
};

// Pairs (i, j), i < j, of quotas with the same key and equal specificity that
// can match the same request: a configuration error.
std::vector<std::pair<std::size_t, std::size_t>> find_conflicts(const std::vector<Quota>& quotas);

}  // namespace sluice
