// Turns a Decision into what the client sees: the rate-limit header fields of
// the configured style and, for a refusal, status, body and Retry-After.
#pragma once

#include "limit/limiter.h"

#include <string>
#include <utility>
#include <vector>

namespace sluice {

using HeaderFields = std::vector<std::pair<std::string, std::string>>;

// Rate-limit fields for an allowed or refused request (none for style `none`,
// or when the policy's settings turn response headers off).
HeaderFields rate_limit_headers(const Decision&);

struct Refusal {
    unsigned status = 429;
    std::string body;      // JSON
    HeaderFields headers;  // Retry-After, rate-limit fields, configured extras
};

// Only for a decision that refused: by a quota, because the client is
// blocked (429, Retry-After until the block ends), or because the store could
// not answer and on_error is closed (503, Retry-After: 1).
Refusal make_refusal(const Decision&);

// Whole seconds for a header: rounded up, so a client that waits that long is
// never early.
long long ceil_seconds(Nanos);

}  // namespace sluice
