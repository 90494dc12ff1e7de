#include "common/duration.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

using namespace std::chrono_literals;

std::chrono::nanoseconds parsed(std::string_view text) {
    const Checked<std::chrono::nanoseconds> r = parse_duration(text);
    EXPECT_TRUE(r.ok()) << text << ": " << r.error();
    return r.value();
}

std::string rejection(std::string_view text) {
    const Checked<std::chrono::nanoseconds> r = parse_duration(text);
    EXPECT_FALSE(r.ok()) << text << " parsed as " << r.value().count() << "ns";
    return r.error();
}

TEST(Duration, EachUnit) {
    EXPECT_EQ(parsed("7ns"), 7ns);
    EXPECT_EQ(parsed("7us"), 7us);
    EXPECT_EQ(parsed("7\u00b5s"), 7us);  // micro sign
    EXPECT_EQ(parsed("7\u03bcs"), 7us);  // Greek mu
    EXPECT_EQ(parsed("500ms"), 500ms);
    EXPECT_EQ(parsed("1s"), 1s);
    EXPECT_EQ(parsed("2m"), 2min);
    EXPECT_EQ(parsed("3h"), 3h);
    EXPECT_EQ(parsed("2d"), 48h);
}

TEST(Duration, Sequences) {
    EXPECT_EQ(parsed("1h30m"), 90min);
    EXPECT_EQ(parsed("1d1h1m1s1ms1us1ns"), 25h + 1min + 1s + 1ms + 1us + 1ns);
    EXPECT_EQ(parsed("30m1h"), 90min);  // any order, as Go
    EXPECT_EQ(parsed("1s1s"), 2s);
}

TEST(Duration, Decimals) {
    EXPECT_EQ(parsed("1.5h"), 90min);
    EXPECT_EQ(parsed("0.5s"), 500ms);
    EXPECT_EQ(parsed(".5s"), 500ms);
    EXPECT_EQ(parsed("1.s"), 1s);
    EXPECT_EQ(parsed("0.1s"), 100ms);
    EXPECT_EQ(parsed("0.000000001s"), 1ns);
    EXPECT_EQ(parsed("1.25m30s"), 105s);
    EXPECT_EQ(parsed("1.00000000000000000000001s"), 1s);  // digits past 64 bits are dropped
    EXPECT_EQ(parsed("0.99999999999999999999999s"), 1s);
}

TEST(Duration, BareNumberIsSeconds) {
    EXPECT_EQ(parsed("30"), 30s);
    EXPECT_EQ(parsed("0"), 0s);
    EXPECT_EQ(parsed("1.5"), 1500ms);
}

TEST(Duration, Sign) {
    EXPECT_EQ(parsed("-5s"), -5s);
    EXPECT_EQ(parsed("+5s"), 5s);
    EXPECT_EQ(parsed("-1h30m"), -90min);
    EXPECT_EQ(parsed("-30"), -30s);
}

TEST(Duration, Limits) {
    EXPECT_EQ(parsed("9223372036854775807ns"), std::chrono::nanoseconds::max());
    EXPECT_EQ(parsed("2562047h"), 2562047h);
}

TEST(Duration, RejectsGarbage) {
    EXPECT_EQ(rejection("5x"), R"("5x" is not a duration)");
    EXPECT_EQ(rejection(""), R"("" is not a duration)");
    EXPECT_EQ(rejection("-"), R"("-" is not a duration)");
    EXPECT_EQ(rejection("+"), R"("+" is not a duration)");
    EXPECT_EQ(rejection("h"), R"("h" is not a duration)");
    EXPECT_EQ(rejection("."), R"("." is not a duration)");
    EXPECT_EQ(rejection(".s"), R"(".s" is not a duration)");
    EXPECT_EQ(rejection("1h30"), R"("1h30" is not a duration)");  // a unit is only optional alone
    EXPECT_EQ(rejection("5S"), R"("5S" is not a duration)");
    EXPECT_EQ(rejection("5 s"), R"("5 s" is not a duration)");
    EXPECT_EQ(rejection(" 5s"), R"(" 5s" is not a duration)");
    EXPECT_EQ(rejection("5s "), R"("5s " is not a duration)");
    EXPECT_EQ(rejection("1..5s"), R"("1..5s" is not a duration)");
    EXPECT_EQ(rejection("--5s"), R"("--5s" is not a duration)");
    EXPECT_EQ(rejection("5s-1s"), R"("5s-1s" is not a duration)");
    EXPECT_EQ(rejection("1e3s"), R"("1e3s" is not a duration)");
    EXPECT_EQ(rejection("0x10s"), R"("0x10s" is not a duration)");
    EXPECT_EQ(rejection("5sec"), R"("5sec" is not a duration)");
    EXPECT_EQ(rejection("1w"), R"("1w" is not a duration)");
}

TEST(Duration, QuotesTheInputAsJson) {
    EXPECT_EQ(rejection("a\"b"), R"("a\"b" is not a duration)");
    EXPECT_EQ(rejection("\n"), R"("\n" is not a duration)");
}

TEST(Duration, RejectsOverflow) {
    EXPECT_EQ(rejection("9223372036854775808ns"), R"("9223372036854775808ns" is out of range)");
    EXPECT_EQ(rejection("2562048h"), R"("2562048h" is out of range)");
    EXPECT_EQ(rejection("99999999999999999999s"), R"("99999999999999999999s" is out of range)");
    EXPECT_EQ(rejection("2562047h2562047h"), R"("2562047h2562047h" is out of range)");
    EXPECT_EQ(rejection("106751.99117d"), R"("106751.99117d" is out of range)");
}

TEST(Duration, FromSeconds) {
    EXPECT_EQ(duration_from_seconds(30).value(), 30s);
    EXPECT_EQ(duration_from_seconds(1.5).value(), 1500ms);
    EXPECT_EQ(duration_from_seconds(0.1).value(), 100ms);
    EXPECT_EQ(duration_from_seconds(-2).value(), -2s);
    EXPECT_TRUE(duration_from_seconds(0).ok());
    EXPECT_EQ(duration_from_seconds(1e10).error(), "10000000000.0 seconds is out of range");
    EXPECT_EQ(duration_from_seconds(-1e10).error(), "-10000000000.0 seconds is out of range");
}

TEST(Duration, TextUsesTheLargestWholeUnit) {
    EXPECT_EQ(duration_text(std::chrono::hours(24 * 36500)), "36500d");
    EXPECT_EQ(duration_text(90s), "90s");
    EXPECT_EQ(duration_text(1500ms), "1500ms");
    EXPECT_EQ(duration_text(2us), "2us");
    EXPECT_EQ(duration_text(1001ns), "1001ns");
    EXPECT_EQ(duration_text(-2min), "-2m");
    EXPECT_EQ(duration_text(0s), "0s");
}

}  // namespace
}  // namespace sluice
