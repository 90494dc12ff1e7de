#include "store/circuit_breaker.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

constexpr Nanos kSecond = 1'000'000'000;
using State = CircuitBreaker::State;

TEST(CircuitBreaker, OpensAfterTheFailuresInARowAndNotBefore) {
    CircuitBreaker breaker(3, kSecond);
    EXPECT_FALSE(breaker.failed(0));
    EXPECT_FALSE(breaker.failed(0));
    EXPECT_TRUE(breaker.allows(0));
    EXPECT_TRUE(breaker.failed(0)) << "the third failure in a row opens it";
    EXPECT_EQ(breaker.state(), State::open);
    EXPECT_FALSE(breaker.allows(1)) << "open: calls are answered without the store";
}

TEST(CircuitBreaker, ASuccessBetweenFailuresStartsTheCountAgain) {
    CircuitBreaker breaker(3, kSecond);
    breaker.failed(0);
    breaker.failed(0);
    EXPECT_FALSE(breaker.succeeded()) << "it was closed: nothing to close";
    breaker.failed(0);
    breaker.failed(0);
    EXPECT_EQ(breaker.state(), State::closed);
    EXPECT_TRUE(breaker.failed(0));
}

TEST(CircuitBreaker, ProbesOncePerIntervalAndClosesWhenTheProbeSucceeds) {
    CircuitBreaker breaker(1, kSecond);
    ASSERT_TRUE(breaker.failed(10));
    EXPECT_FALSE(breaker.allows(10 + kSecond - 1));
    EXPECT_TRUE(breaker.allows(10 + kSecond)) << "the probe";
    EXPECT_EQ(breaker.state(), State::probing);
    EXPECT_FALSE(breaker.allows(10 + kSecond)) << "one probe at a time";
    EXPECT_TRUE(breaker.succeeded()) << "the probe's success closes it";
    EXPECT_EQ(breaker.state(), State::closed);
    EXPECT_TRUE(breaker.allows(10 + kSecond));
}

TEST(CircuitBreaker, AFailedProbeWaitsAnotherIntervalWithoutCountingAsANewOpening) {
    CircuitBreaker breaker(1, kSecond);
    breaker.failed(0);
    ASSERT_TRUE(breaker.allows(kSecond));
    EXPECT_FALSE(breaker.failed(kSecond + 5)) << "it was open already";
    EXPECT_EQ(breaker.state(), State::open);
    EXPECT_FALSE(breaker.allows(2 * kSecond + 4));
    EXPECT_TRUE(breaker.allows(2 * kSecond + 5));
}

TEST(CircuitBreaker, LateFailuresWhileOpenDoNotPostponeTheProbe) {
    CircuitBreaker breaker(1, kSecond);
    breaker.failed(0);
    EXPECT_FALSE(breaker.failed(kSecond / 2)) << "a call sent before it opened, failing late";
    EXPECT_TRUE(breaker.allows(kSecond));
}

}  // namespace
}  // namespace sluice
