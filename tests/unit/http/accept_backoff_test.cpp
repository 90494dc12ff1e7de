#include "http/accept_backoff.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace sluice {
namespace {

TEST(LogThrottle, LogsTheFirstThenOneLinePerIntervalWithTheCountLeftOut) {
    LogThrottle throttle(10s);
    const LogThrottle::TimePoint start{};
    EXPECT_EQ(throttle.note("accept: Too many open files", start), "accept: Too many open files");
    for (int i = 1; i < 100; ++i)
        EXPECT_EQ(throttle.note("accept: Too many open files", start + i * 100ms), std::nullopt);
    EXPECT_EQ(throttle.note("accept: Too many open files", start + 10s),
              "accept: Too many open files (99 more like it since the last line)");
    EXPECT_EQ(throttle.note("accept: Too many open files", start + 20s - 1ns), std::nullopt);
    EXPECT_EQ(throttle.note("accept: Too many open files", start + 20s),
              "accept: Too many open files (1 more like it since the last line)");
    EXPECT_EQ(throttle.note("accept: Too many open files", start + 60s), "accept: Too many open files");
}

TEST(AcceptFailures, SaysHowItRetriesAndHowOftenItLogs) {
    EXPECT_EQ(AcceptFailures("admin accept").line("Too many open files"),
              "admin accept: Too many open files (retrying every 100 ms; logged at most every 10 s)");
}

}  // namespace
}  // namespace sluice
