// Which quotas apply to a request (method + path), with Vault's precedence:
// per key kind only the most specific matching quota applies (exact path, with
// method before without; then templates; then the longest prefix glob; then
// ""), plus every matching quota of that kind marked `cumulative`.
#pragma once

#include "proxy/quota.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

enum class PathKind : std::uint8_t { exact, template_, prefix, global };

struct PathPattern {
    PathKind kind = PathKind::global;
    std::string text;                    // exact path, or the prefix before '*'
    std::vector<std::string> segments;   // template: literal segments, "" for a {param}

    static PathPattern parse(std::string_view configured);  // input must be valid
    bool matches(std::string_view path) const;
};

// Why a configured path is not valid, or empty if it is.
std::string path_error(std::string_view configured);

// Resolves "." and ".." segments, merges repeated slashes and decodes
// percent-encoded unreserved characters, so "/v1//auth/%65xchange" cannot slip
// past a quota on "/v1/auth/exchange". The query is dropped.
std::string normalize_path(std::string_view target);

class QuotaMatcher {
public:
    QuotaMatcher() = default;
    explicit QuotaMatcher(const std::vector<Quota>& quotas);

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
