// The three limiting algorithms as pure functions of (parameters, state, now).
// No locking, no I/O: the store decides where state lives and when it commits.
#pragma once

#include "proxy/clock.h"
#include "proxy/quota.h"

#include <cstdint>

namespace sluice {

// A quota's limit in the units the algorithms work in.
struct LimitParams {
    Algorithm algorithm = Algorithm::token_bucket;
    std::uint32_t limit = 1;   // requests admitted at once / per window
    Nanos interval = 0;        // window length (token bucket: time to refill `limit`)
    Nanos emission = 0;        // token bucket: interval / rate, the cost of one request
    Nanos block = 0;           // block_interval; 0 = none

    static LimitParams from(const Quota&);
};

// One key's state, 32 bytes. What `time` means depends on the algorithm:
// token bucket: theoretical arrival time (GCRA); fixed window: end of the
// window; sliding window: end of the current window plus one interval (when
// the previous window stops counting). All three are chosen so that a state is
// equivalent to a fresh one once `now >= idle_at()`, without the parameters.
struct LimitState {
    Nanos time = 0;
    Nanos blocked_until = 0;
    Nanos protect_until = 0;    // before this the key's next request is refused; never evict it
    std::uint32_t current = 0;  // requests in the current window
    std::uint32_t previous = 0; // requests in the previous window (sliding)

    Nanos idle_at() const { return time > blocked_until ? time : blocked_until; }
};

struct Evaluation {
    bool allowed = false;
    LimitState next;            // the state to commit if the request goes through
    std::uint32_t remaining = 0;
    Nanos reset = 0;            // from now until the limit is whole again / the window ends
    Nanos retry_after = 0;      // refused: from now until a request would pass
};

Evaluation evaluate(const LimitParams&, const LimitState&, Nanos now);

// The state after a refusal: unchanged, except that a quota with a block
// interval starts blocking the key.
LimitState refused_state(const LimitParams&, const LimitState&, Nanos now);

}  // namespace sluice
