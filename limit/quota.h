// A quota as configured: immutable once loaded. Both the config parser
// (controller/) and the limiter (proxy/) speak this type.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

enum class KeyKind : std::uint8_t { client_ip, bearer_token, header, global };
enum class Algorithm : std::uint8_t { token_bucket, fixed_window, sliding_window };
enum class HeaderStyle : std::uint8_t { draft, x_ratelimit, ietf, none };
enum class QuotaMode : std::uint8_t { enforce, dry_run };

// What a quota counts. For KeyKind::header, `header` is the header name as
// configured (matched case-insensitively).
struct QuotaKey {
    KeyKind kind = KeyKind::client_ip;
    std::string header;
    bool operator==(const QuotaKey&) const = default;
};

// The answer to a refused request, when the quota overrides the default one.
struct RefusalResponse {
    unsigned status = 429;
    std::string body;  // serialized JSON
    std::vector<std::pair<std::string, std::string>> headers;
    bool operator==(const RefusalResponse&) const = default;
};

struct Quota {
    std::string name;
    std::string path;    // "" global, "/v1/*" prefix, "/a/{id}" template, exact otherwise
    std::string method;  // upper case; empty = any method
    QuotaKey key;
    double rate = 0;  // requests per interval
    std::chrono::nanoseconds interval = std::chrono::seconds(1);
    std::optional<double> burst;  // token_bucket only; default = rate
    Algorithm algorithm = Algorithm::token_bucket;
    std::chrono::nanoseconds block_interval{0};
    QuotaMode mode = QuotaMode::enforce;
    bool cumulative = false;
    std::optional<RefusalResponse> response;
    std::optional<HeaderStyle> headers;
    // Stored for Vault compatibility; no effect outside Vault.
    std::string role;
    bool inheritable = false;

    bool operator==(const Quota&) const = default;
};

std::string_view to_string(KeyKind);
std::string_view to_string(Algorithm);
std::string_view to_string(HeaderStyle);
std::string_view to_string(QuotaMode);

}  // namespace sluice
