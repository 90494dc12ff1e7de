// The three limiting algorithms as pure functions of (parameters, state, now).
// No locking, no I/O: the store decides where state lives and when it commits.
#pragma once

#include "common/clock.h"
#include "limit/quota.h"

#include <cstdint>

namespace sluice {

// The longest interval, block_interval and token-bucket refill time
// (burst * interval / rate) the algorithms count exactly: 100 years. A state
// then reaches at most 2 * kMaxSpan past now (a sliding window's end), which
// 64 bits hold while the monotonic clock reads less than 92 years. The loader
// refuses quotas beyond it.
constexpr Nanos kMaxSpan = 36'500LL * 86'400 * 1'000'000'000;

// A quota's limit in the units the algorithms work in.
struct LimitParams {
    Algorithm algorithm = Algorithm::token_bucket;
    std::uint32_t limit = 1;  // requests admitted at once / per window (< 2^31)
    Nanos interval = 0;       // window length (token bucket: time to refill `limit`)
    Nanos emission = 0;       // token bucket: interval / rate, the cost of one request
    Nanos capacity = 0;       // token bucket: limit * emission, how far ahead credit reaches
    Nanos block = 0;          // block_interval; 0 = none

    static LimitParams from(const Quota&);
};

// One key's state, 24 bytes. What `time` means depends on the algorithm:
// token bucket: theoretical arrival time (GCRA); fixed window: end of the
// window; sliding window: end of the current window plus one interval (when
// the previous window stops counting). All three are chosen so that a state is
// equivalent to a fresh one once `now >= idle_at()`, without the parameters.
struct LimitState {
    Nanos time = 0;
    // Blocked: refused until then. Otherwise: the key's next request would be
    // refused before then, so forgetting (evicting) it would let it through early.
    Nanos hold_until = 0;
    std::uint32_t current = 0;        // requests in the current window
    std::uint32_t previous : 31 = 0;  // requests in the previous window (sliding)
    std::uint32_t blocked : 1 = 0;

    Nanos idle_at() const { return time > hold_until ? time : hold_until; }
    bool blocked_at(Nanos now) const { return blocked && hold_until > now; }
};

struct Evaluation {
    bool allowed = false;
    LimitState next;  // the state to commit if the request goes through
    std::uint32_t remaining = 0;
    Nanos reset = 0;        // from now until the limit is whole again / the window ends
    Nanos retry_after = 0;  // refused: from now until a request would pass
};

Evaluation evaluate(const LimitParams&, const LimitState&, Nanos now);

// The state after a refusal: unchanged, except that a quota with a block
// interval starts blocking the key.
LimitState refused_state(const LimitParams&, const LimitState&, Nanos now);

// Where a key stands at `now`, without a request (the usage endpoint).
struct Usage {
    std::uint32_t used = 0;       // requests counted in the window (token bucket: credit in use)
    std::uint32_t remaining = 0;  // requests that would pass now, one after the other
    Nanos reset = 0;              // from now until the limit is whole again (blocked: until unblocked)
};

Usage usage(const LimitParams&, const LimitState&, Nanos now);

}  // namespace sluice
