// Time source for the limiter, injected so tests can drive it by hand.
#pragma once

#include <chrono>
#include <cstdint>

namespace sluice {

// Nanoseconds on a monotonic clock. Never 0 for a real reading, so a zeroed
// limiter state always reads as "long ago".
using Nanos = std::int64_t;

class Clock {
public:
    virtual ~Clock() = default;
    virtual Nanos now() const = 0;
};

class SteadyClock final : public Clock {
public:
    Nanos now() const override {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }
};

}  // namespace sluice
