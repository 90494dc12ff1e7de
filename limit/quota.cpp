#include "limit/quota.h"

namespace sluice {

std::string_view to_string(KeyKind kind) {
    switch (kind) {
    case KeyKind::client_ip: return "client_ip";
    case KeyKind::bearer_token: return "bearer_token";
    case KeyKind::header: return "header";
    case KeyKind::global: return "global";
    }
    return "?";
}

std::string_view to_string(Algorithm algorithm) {
    switch (algorithm) {
    case Algorithm::token_bucket: return "token_bucket";
    case Algorithm::fixed_window: return "fixed_window";
    case Algorithm::sliding_window: return "sliding_window";
    }
    return "?";
}

std::string_view to_string(HeaderStyle style) {
    switch (style) {
    case HeaderStyle::draft: return "draft";
    case HeaderStyle::x_ratelimit: return "x-ratelimit";
    case HeaderStyle::ietf: return "ietf";
    case HeaderStyle::none: return "none";
    }
    return "?";
}

std::string_view to_string(QuotaMode mode) { return mode == QuotaMode::enforce ? "enforce" : "dry_run"; }

}  // namespace sluice
