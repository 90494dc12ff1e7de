#include "sluicectl/prometheus.h"

#include "tests/support/error_of.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace sluice::ctl {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

TEST(SluicectlPrometheus, SamplesWithAndWithoutLabelsCommentsSkipped) {
    const auto samples = parse_prometheus_text(
        "# HELP sluice_tracked_keys keys with state\n"
        "# TYPE sluice_tracked_keys gauge\n"
        "sluice_tracked_keys 5\n"
        "\n"
        "sluice_requests_total{quota=\"per-ip\",outcome=\"allowed\"} 12\n"
        "sluice_request_duration_seconds_bucket{le=\"+Inf\"} 3 1700000000000\n"
        "  spaced { a = \"1\" , b=\"2\", }   7.5  \r\n");
    ASSERT_EQ(samples.size(), 4u);
    EXPECT_EQ(samples[0].name, "sluice_tracked_keys");
    EXPECT_TRUE(samples[0].labels.empty());
    EXPECT_EQ(samples[0].value, 5);
    EXPECT_EQ(samples[1].name, "sluice_requests_total");
    EXPECT_EQ(samples[1].labels, (Labels{{"quota", "per-ip"}, {"outcome", "allowed"}}));
    EXPECT_EQ(samples[1].label("outcome"), "allowed");
    EXPECT_EQ(samples[1].label("absent"), "");
    EXPECT_EQ(samples[1].value, 12);
    EXPECT_EQ(samples[2].label("le"), "+Inf");
    EXPECT_EQ(samples[2].value, 3);  // the timestamp is not the value
    EXPECT_EQ(samples[3].labels, (Labels{{"a", "1"}, {"b", "2"}}));
    EXPECT_EQ(samples[3].value, 7.5);
}

TEST(SluicectlPrometheus, EscapesInLabelValuesAndSpecialValues) {
    const auto samples = parse_prometheus_text(
        "m{path=\"a \\\"quoted\\\" \\\\ back\\nline, {braces}\"} +Inf\n"
        "m -Inf\n"
        "m NaN\n"
        "m 1e3\n");
    ASSERT_EQ(samples.size(), 4u);
    EXPECT_EQ(samples[0].label("path"), "a \"quoted\" \\ back\nline, {braces}");
    EXPECT_TRUE(std::isinf(samples[0].value) && samples[0].value > 0);
    EXPECT_TRUE(std::isinf(samples[1].value) && samples[1].value < 0);
    EXPECT_TRUE(std::isnan(samples[2].value));
    EXPECT_EQ(samples[3].value, 1000);
}

std::string parse_error(const std::string& text) {
    return testing::error_of<std::invalid_argument>([&] { parse_prometheus_text(text); });
}

TEST(SluicectlPrometheus, AMalformedLineIsReportedWithItsNumber) {
    EXPECT_EQ(parse_error("ok 1\nbroken\n"), "line 2: no value after broken");
    EXPECT_EQ(parse_error("m{a=\"1\" 2\n"), "line 1: expected , or } after a label");
    EXPECT_EQ(parse_error("m{a=1} 2\n"), "line 1: expected =\"value\" after label a");
    EXPECT_EQ(parse_error("m{a=\"1} 2\n"), "line 1: a label value has no closing quote");
    EXPECT_EQ(parse_error("# c\n\nm one\n"), "line 3: \"one\" is not a sample value");
    EXPECT_EQ(parse_error("9m 1\n"), "line 1: expected a metric name");
}

}  // namespace
}  // namespace sluice::ctl
