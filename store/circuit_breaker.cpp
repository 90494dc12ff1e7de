#include "store/circuit_breaker.h"

namespace sluice {

bool CircuitBreaker::allows(Nanos now) {
    switch (state_) {
    case State::closed: return true;
    case State::probing: return false;
    case State::open:
        if (now < next_probe_) return false;
        state_ = State::probing;
        return true;
    }
    return false;
}

bool CircuitBreaker::succeeded() {
    failures_ = 0;
    if (state_ == State::closed) return false;
    state_ = State::closed;
    return true;
}

bool CircuitBreaker::failed(Nanos now) {
    ++failures_;
    if (state_ == State::probing) {  // still failing: wait for the next probe
        state_ = State::open;
        next_probe_ = now + probe_interval_;
        return false;
    }
    if (state_ == State::open || failures_ < failures_to_open_) return false;
    state_ = State::open;
    next_probe_ = now + probe_interval_;
    return true;
}

}  // namespace sluice
