#include "metrics/prometheus_text.h"

#include "tests/support/prometheus_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <limits>
#include <stdexcept>

namespace sluice {
namespace {

using ::testing::ElementsAre;
using testing::exposition_problems;
using ::testing::IsEmpty;

TEST(PrometheusText, FamiliesWithHelpTypeAndSamples) {
    PrometheusText out;
    out.family("demo_requests_total", MetricType::counter, "Requests by result.");
    out.sample({{"result", "ok"}, {"code", "200"}}, 7);
    out.sample({{"result", "failed"}, {"code", "500"}}, 0);
    out.single("demo_things", MetricType::gauge, "Things held.", 18446744073709551615u);
    EXPECT_EQ(out.text(),
              "# HELP demo_requests_total Requests by result.\n"
              "# TYPE demo_requests_total counter\n"
              "demo_requests_total{result=\"ok\",code=\"200\"} 7\n"
              "demo_requests_total{result=\"failed\",code=\"500\"} 0\n"
              "# HELP demo_things Things held.\n"
              "# TYPE demo_things gauge\n"
              "demo_things 18446744073709551615\n");
    EXPECT_THAT(exposition_problems(out.text()), IsEmpty());
}

TEST(PrometheusText, LabelValuesEscapeBackslashQuoteAndNewline) {
    PrometheusText out;
    out.family("demo_total", MetricType::counter, "Escapes.");
    out.sample({{"value", "a\\b\"c\nd"}}, 1);
    out.sample({{"value", "plain 'single' {braces}, =comma"}}, 2);
    EXPECT_EQ(out.text(),
              "# HELP demo_total Escapes.\n"
              "# TYPE demo_total counter\n"
              "demo_total{value=\"a\\\\b\\\"c\\nd\"} 1\n"
              "demo_total{value=\"plain 'single' {braces}, =comma\"} 2\n");
    EXPECT_THAT(exposition_problems(out.text()), IsEmpty());
}

TEST(PrometheusText, HelpEscapesBackslashAndNewlineButNotQuotes) {
    PrometheusText out;
    out.single("demo", MetricType::gauge, "a \"quoted\" C:\\path\nsecond line", 0);
    EXPECT_EQ(out.text(),
              "# HELP demo a \"quoted\" C:\\\\path\\nsecond line\n"
              "# TYPE demo gauge\n"
              "demo 0\n");
    EXPECT_THAT(exposition_problems(out.text()), IsEmpty());
}

TEST(PrometheusText, HistogramBucketsAreCumulativeWithInfSumAndCount) {
    PrometheusText out;
    const std::array<double, 3> bounds = {0.00025, 0.5, 5};
    const std::array<std::uint64_t, 4> counts = {2, 0, 3, 1};  // per bucket; 1 above 5 s
    out.family("demo_duration_seconds", MetricType::histogram, "Durations.");
    out.histogram(bounds, counts, 7.125);
    EXPECT_EQ(out.text(),
              "# HELP demo_duration_seconds Durations.\n"
              "# TYPE demo_duration_seconds histogram\n"
              "demo_duration_seconds_bucket{le=\"0.00025\"} 2\n"
              "demo_duration_seconds_bucket{le=\"0.5\"} 2\n"
              "demo_duration_seconds_bucket{le=\"5\"} 5\n"
              "demo_duration_seconds_bucket{le=\"+Inf\"} 6\n"
              "demo_duration_seconds_sum 7.125\n"
              "demo_duration_seconds_count 6\n");
    EXPECT_THAT(exposition_problems(out.text()), IsEmpty());
}

TEST(PrometheusText, SumIsWrittenInShortestFormAndSpecialValuesAsPrometheusSpellsThem) {
    const auto sum_line = [](double sum) {
        PrometheusText out;
        const std::array<std::uint64_t, 1> counts = {0};
        out.family("h", MetricType::histogram, "h");
        out.histogram({}, counts, sum);
        const std::string& text = out.text();
        const std::size_t start = text.find("h_sum ");
        return text.substr(start, text.find('\n', start) - start);
    };
    EXPECT_EQ(sum_line(0), "h_sum 0");
    EXPECT_EQ(sum_line(0.1), "h_sum 0.1");
    EXPECT_EQ(sum_line(1.0 / 3), "h_sum 0.3333333333333333");
    EXPECT_EQ(sum_line(123456.75), "h_sum 123456.75");
    EXPECT_EQ(sum_line(1e-7), "h_sum 1e-07");
    EXPECT_EQ(sum_line(std::numeric_limits<double>::infinity()), "h_sum +Inf");
    EXPECT_EQ(sum_line(-std::numeric_limits<double>::infinity()), "h_sum -Inf");
    EXPECT_EQ(sum_line(std::numeric_limits<double>::quiet_NaN()), "h_sum NaN");
}

TEST(PrometheusText, FamilyWithoutSamplesIsStillDeclared) {
    PrometheusText out;
    out.family("demo_total", MetricType::counter, "None yet.");
    EXPECT_EQ(out.text(), "# HELP demo_total None yet.\n# TYPE demo_total counter\n");
    EXPECT_THAT(exposition_problems(out.text()), IsEmpty());
}

TEST(PrometheusText, RefusesInvalidNamesAndMisplacedSamples) {
    PrometheusText out;
    EXPECT_THROW(out.sample({}, 1), std::logic_error) << "no family yet";
    EXPECT_THROW(out.family("9lives", MetricType::gauge, ""), std::invalid_argument);
    EXPECT_THROW(out.family("has-dash", MetricType::gauge, ""), std::invalid_argument);
    EXPECT_THROW(out.family("", MetricType::gauge, ""), std::invalid_argument);
    EXPECT_EQ(out.text(), "");

    out.family("ns:demo_total", MetricType::counter, "c");  // colons are allowed in metric names
    EXPECT_THROW(out.sample({{"bad:label", "x"}}, 1), std::invalid_argument);
    EXPECT_THROW(out.sample({{"__reserved", "x"}}, 1), std::invalid_argument);
    EXPECT_THROW(out.sample({{"", "x"}}, 1), std::invalid_argument);
    const std::array<std::uint64_t, 1> counts = {0};
    EXPECT_THROW(out.histogram({}, counts, 0), std::logic_error) << "a counter is not a histogram";
    EXPECT_EQ(out.text(), "# HELP ns:demo_total c\n# TYPE ns:demo_total counter\n") << "nothing half-written";

    out.family("demo_seconds", MetricType::histogram, "h");
    EXPECT_THROW(out.sample({}, 1), std::logic_error) << "a histogram takes histogram()";
    const std::array<double, 2> bounds = {1, 2};
    EXPECT_THROW(out.histogram(bounds, counts, 0), std::invalid_argument) << "3 counts needed";
}

// The checker the metrics tests rely on must itself catch what it claims to.
TEST(ExpositionCheck, FindsBrokenExpositions) {
    EXPECT_THAT(exposition_problems("x 1\n"), ElementsAre("line 1 'x 1': no TYPE declared for x"));
    EXPECT_THAT(exposition_problems("# TYPE x gauge\nx{a=\"b\\t\"} 1\n"),
                ElementsAre("line 2 'x{a=\"b\\t\"} 1': bad escape in label value"));
    EXPECT_THAT(exposition_problems("# TYPE x gauge\nx 1"), ElementsAre("the last line does not end in a newline"));
    EXPECT_THAT(exposition_problems("# TYPE x gauge\nx one\n"), ElementsAre("line 2 'x one': value does not parse"));
    EXPECT_THAT(exposition_problems("# TYPE x_total counter\n# TYPE y gauge\nx_total 1\n"),
                ElementsAre("line 3 'x_total 1': sample of x_total outside its family"));
    EXPECT_THAT(exposition_problems("# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n"),
                ElementsAre("line 3 'x{a=\"1\"} 2': duplicate series"));
    EXPECT_THAT(exposition_problems("# TYPE x counter\n"),
                ElementsAre("line 1 '# TYPE x counter': counter without _total"));
    EXPECT_THAT(
        exposition_problems("# TYPE h histogram\n"
                            "h_bucket{le=\"1\"} 3\n"
                            "h_bucket{le=\"+Inf\"} 2\n"
                            "h_sum 1\n"
                            "h_count 3\n"),
        ElementsAre("line 3 'h_bucket{le=\"+Inf\"} 2': buckets not cumulative", "h: +Inf bucket is not _count"));
}

}  // namespace
}  // namespace sluice
