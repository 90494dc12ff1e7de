// The Prometheus text exposition format, version 0.0.4: metric families with
// their HELP and TYPE lines, samples with escaped label values, histograms
// with cumulative buckets. Knows nothing of what sluiced measures.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace sluice {

enum class MetricType { counter, gauge, histogram };

struct MetricLabel {
    std::string_view name;
    std::string_view value;  // any text; escaped on output
};

using MetricLabels = std::initializer_list<MetricLabel>;

class PrometheusText {
public:
    // Starts a family: its HELP and TYPE lines. The samples written next
    // belong to it. Throws std::invalid_argument when `name` is not a valid
    // metric name.
    void family(std::string_view name, MetricType type, std::string_view help);

    // A sample of the current counter or gauge family. Throws
    // std::logic_error when there is none, std::invalid_argument for a label
    // name that is not valid.
    void sample(MetricLabels labels, std::uint64_t value);

    // A family with one unlabelled sample.
    void single(std::string_view name, MetricType type, std::string_view help, std::uint64_t value);

    // The samples of the current histogram family: counts[i] observations fell
    // at or below bounds[i] and above bounds[i - 1], the last count above every
    // bound (counts.size() == bounds.size() + 1, bounds ascending), and they
    // summed to `sum`. Writes cumulative buckets, +Inf, _sum and _count (the
    // total of `counts`). Throws std::logic_error when the current family is
    // not a histogram, std::invalid_argument when the sizes do not fit.
    void histogram(std::span<const double> bounds, std::span<const std::uint64_t> counts, double sum);

    const std::string& text() const { return text_; }

private:
    void require_current(bool histogram) const;
    // `le` empty: no le label.
    void write_sample(std::string_view suffix, MetricLabels labels, std::string_view le, std::string_view value);

    std::string text_;
    std::string current_;  // the family being written
    MetricType current_type_ = MetricType::counter;
};

}  // namespace sluice
