// Stops asking a store that keeps failing. Closed, every call goes to the
// store; after `failures_to_open` failures in a row it opens: calls are
// answered unavailable at once (store.on_error decides what they get), but
// for one probe per `probe_interval`; the probe's success closes it again.
#pragma once

#include "common/clock.h"

namespace sluice {

class CircuitBreaker {
public:
    enum class State { closed, open, probing };

    CircuitBreaker(int failures_to_open, Nanos probe_interval)
        : failures_to_open_(failures_to_open),
          probe_interval_(probe_interval) {}

    // Whether a call may go to the store now; while open, true once per
    // probe interval (that call is the probe, and no other goes until it ends).
    bool allows(Nanos now);
    // Whether the breaker closed (after a probe).
    bool succeeded();
    // Whether the breaker opened.
    bool failed(Nanos now);

    State state() const { return state_; }

private:
    int failures_to_open_;
    Nanos probe_interval_;
    State state_ = State::closed;
    int failures_ = 0;  // in a row
    Nanos next_probe_ = 0;
};

}  // namespace sluice
