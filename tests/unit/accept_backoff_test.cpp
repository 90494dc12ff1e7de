#include "proxy/accept_backoff.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace sluice {
namespace {

TEST(AcceptFailures, LogsTheFirstThenOneLinePerIntervalWithTheCountLeftOut) {
    AcceptFailures failures("admin accept");
    const AcceptFailures::TimePoint start{};
    EXPECT_EQ(failures.note("Too many open files", start),
              "admin accept: Too many open files (retrying every 100 ms; logged at most every 10 s)");
    for (int i = 1; i < 100; ++i) EXPECT_EQ(failures.note("Too many open files", start + i * kAcceptBackoff), std::nullopt);
    EXPECT_EQ(failures.note("Too many open files", start + 10s),
              "admin accept: Too many open files (99 more failures since the last line)");
    EXPECT_EQ(failures.note("Too many open files", start + 20s - 1ns), std::nullopt);
    EXPECT_EQ(failures.note("Too many open files", start + 20s),
              "admin accept: Too many open files (1 more failure since the last line)");
    EXPECT_EQ(failures.note("Too many open files", start + 60s), "admin accept: Too many open files");
}

}  // namespace
}  // namespace sluice
