// A steady clock that does not move: what a target reads back after it
// counts is what it counted (a token bucket earns credit back as time
// passes), and every run of an input sees the same times.
#pragma once

#include "common/clock.h"

namespace sluice::fuzz {

class StoppedClock final : public Clock {
public:
    Nanos now() const override { return 1'000'000'000'000; }  // non-zero, as a real reading
};

}  // namespace sluice::fuzz
