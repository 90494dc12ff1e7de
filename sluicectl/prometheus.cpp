#include "sluicectl/prometheus.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace sluice::ctl {

namespace {

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool is_name_char(char c) { return is_name_start(c) || std::isdigit(static_cast<unsigned char>(c)); }

// One sample line, consumed left to right.
class LineReader {
public:
    explicit LineReader(std::string_view line) : rest_(line) {}

    Sample sample() {
        Sample sample;
        sample.name = name("a metric name");
        bool separated = skip_blanks();
        if (take('{')) {
            sample.labels = labels();
            separated = skip_blanks();
        }
        if (!separated || rest_.empty()) throw std::invalid_argument("no value after " + sample.name);
        sample.value = value();
        skip_blanks();  // an optional timestamp follows; sluicectl has no use for it
        return sample;
    }

private:
    bool take(char c) {
        if (!rest_.starts_with(c)) return false;
        rest_.remove_prefix(1);
        return true;
    }

    // Whether there were any.
    bool skip_blanks() {
        const std::size_t blanks = std::min(rest_.find_first_not_of(" \t"), rest_.size());
        rest_.remove_prefix(blanks);
        return blanks > 0;
    }

    std::string name(std::string_view what) {
        if (rest_.empty() || !is_name_start(rest_.front()))
            throw std::invalid_argument("expected " + std::string(what));
        std::size_t length = 1;
        while (length < rest_.size() && is_name_char(rest_[length])) ++length;
        std::string result(rest_.substr(0, length));
        rest_.remove_prefix(length);
        return result;
    }

    std::vector<std::pair<std::string, std::string>> labels() {
        std::vector<std::pair<std::string, std::string>> result;
        for (;;) {
            skip_blanks();
            if (take('}')) return result;
            std::string label_name = name("a label name");
            skip_blanks();
            if (!take('=') || (skip_blanks(), !take('"')))
                throw std::invalid_argument("expected =\"value\" after label " + label_name);
            result.emplace_back(std::move(label_name), quoted_rest());
            skip_blanks();
            if (!take(',') && !rest_.starts_with('}')) throw std::invalid_argument("expected , or } after a label");
        }
    }

    // A label value after its opening quote, up to and including the closing one.
    std::string quoted_rest() {
        std::string value;
        for (std::size_t i = 0; i < rest_.size(); ++i) {
            const char c = rest_[i];
            if (c == '"') {
                rest_.remove_prefix(i + 1);
                return value;
            }
            if (c == '\\' && i + 1 < rest_.size()) {
                const char escaped = rest_[++i];
                value += escaped == 'n' ? '\n' : escaped;  // \\ and \" stand for themselves
            } else {
                value += c;
            }
        }
        throw std::invalid_argument("a label value has no closing quote");
    }

    double value() {
        const std::string_view text = rest_.substr(0, rest_.find_first_of(" \t"));
        rest_.remove_prefix(text.size());
        if (text == "+Inf") return std::numeric_limits<double>::infinity();
        if (text == "-Inf") return -std::numeric_limits<double>::infinity();
        if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
        double number = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
        if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(number))
            throw std::invalid_argument("\"" + std::string(text) + "\" is not a sample value");
        return number;
    }

    std::string_view rest_;
};

}  // namespace

std::string Sample::label(std::string_view label_name) const {
    for (const auto& [name, value] : labels) {
        if (name == label_name) return value;
    }
    return {};
}

std::vector<Sample> parse_prometheus_text(std::string_view text) {
    std::vector<Sample> samples;
    std::size_t line_number = 0;
    while (!text.empty()) {
        const std::size_t end = std::min(text.find('\n'), text.size());
        std::string_view line = text.substr(0, end);
        text.remove_prefix(std::min(end + 1, text.size()));
        ++line_number;
        line.remove_prefix(std::min(line.find_first_not_of(" \t\r"), line.size()));
        while (line.ends_with('\r') || line.ends_with(' ') || line.ends_with('\t')) line.remove_suffix(1);
        if (line.empty() || line.starts_with('#')) continue;
        try {
            samples.push_back(LineReader(line).sample());
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("line " + std::to_string(line_number) + ": " + e.what());
        }
    }
    return samples;
}

}  // namespace sluice::ctl
