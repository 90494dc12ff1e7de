// A clock the test moves by hand.
#pragma once

#include "common/clock.h"

#include <chrono>

namespace sluice::testing {

class FakeClock final : public Clock {
public:
    Nanos now() const override { return now_; }
    void advance(std::chrono::nanoseconds d) { now_ += d.count(); }

private:
    Nanos now_ = 1'000'000'000'000;  // an arbitrary, non-zero start
};

inline Quota make_quota(std::string name, std::string path, double rate, std::chrono::nanoseconds interval,
                        Algorithm algorithm = Algorithm::token_bucket) {
    Quota q;
    q.name = std::move(name);
    q.path = std::move(path);
    q.rate = rate;
    q.interval = interval;
    q.algorithm = algorithm;
    return q;
}

}  // namespace sluice::testing
