#include "metrics/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace sluice {

namespace {

bool valid_name(std::string_view name, bool colon_allowed) {
    const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
    if (name.empty() || !(letter(name[0]) || (colon_allowed && name[0] == ':'))) return false;
    for (char c : name)
        if (!(letter(c) || (c >= '0' && c <= '9') || (colon_allowed && c == ':'))) return false;
    return true;
}

std::string_view type_name(MetricType type) {
    switch (type) {
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::histogram: return "histogram";
    }
    return "untyped";
}

// HELP text escapes backslash and newline; label values also the double quote.
void append_escaped(std::string& out, std::string_view text, bool quote) {
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (quote && c == '"')
            out += "\\\"";
        else
            out += c;
    }
}

std::string format(std::uint64_t value) {
    char buffer[24];
    return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr);
}

// The shortest text that reads back as `value`, as Prometheus' own clients
// write it ("0.00025", "1", "+Inf").
std::string format(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char buffer[32];
    return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general).ptr);
}

}  // namespace

void PrometheusText::family(std::string_view name, MetricType type, std::string_view help) {
    if (!valid_name(name, true)) throw std::invalid_argument("metric name '" + std::string(name) + "' is not valid");
    current_ = name;
    current_type_ = type;
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    append_escaped(text_, help, false);
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type_name(type);
    text_ += '\n';
}

void PrometheusText::sample(MetricLabels labels, std::uint64_t value) {
    require_current(false);
    write_sample("", labels, {}, format(value));
}

void PrometheusText::single(std::string_view name, MetricType type, std::string_view help, std::uint64_t value) {
    family(name, type, help);
    sample({}, value);
}

void PrometheusText::histogram(std::span<const double> bounds, std::span<const std::uint64_t> counts, double sum) {
    require_current(true);
    if (counts.size() != bounds.size() + 1)
        throw std::invalid_argument("histogram " + current_ + ": " + std::to_string(counts.size()) + " counts for " +
                                    std::to_string(bounds.size()) + " bounds, want one more than bounds");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += counts[i];
        write_sample("_bucket", {}, format(bounds[i]), format(cumulative));
    }
    const std::uint64_t total = std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
    write_sample("_bucket", {}, "+Inf", format(total));
    write_sample("_sum", {}, {}, format(sum));
    write_sample("_count", {}, {}, format(total));
}

void PrometheusText::require_current(bool histogram) const {
    if (current_.empty()) throw std::logic_error("metric sample written before its family");
    if ((current_type_ == MetricType::histogram) != histogram)
        throw std::logic_error("metric " + current_ + " is a " + std::string(type_name(current_type_)) +
                               (histogram ? ", not a histogram" : ": write it with histogram()"));
}

void PrometheusText::write_sample(std::string_view suffix, MetricLabels labels, std::string_view le,
                                  std::string_view value) {
    for (const MetricLabel& l : labels) {
        if (!valid_name(l.name, false) || l.name.starts_with("__"))
            throw std::invalid_argument("metric " + current_ + ": label name '" + std::string(l.name) +
                                        "' is not valid");
    }
    text_ += current_;
    text_ += suffix;
    if (labels.size() > 0 || !le.empty()) {
        char separator = '{';
        const auto label = [&](std::string_view name, std::string_view label_value) {
            text_ += separator;
            text_ += name;
            text_ += "=\"";
            append_escaped(text_, label_value, true);
            text_ += '"';
            separator = ',';
        };
        for (const MetricLabel& l : labels) label(l.name, l.value);
        if (!le.empty()) label("le", le);
        text_ += '}';
    }
    text_ += ' ';
    text_ += value;
    text_ += '\n';
}

}  // namespace sluice
