#include "sluicectl/format.h"

#include <charconv>
#include <cmath>

namespace sluice::ctl {

bool is_whole_number(double value) { return std::trunc(value) == value && std::fabs(value) < 0x1p53; }

std::string format_number(double value) {
    if (is_whole_number(value)) return std::to_string(static_cast<long long>(value));
    char text[32];
    const auto result = std::to_chars(text, text + sizeof text, value);
    return std::string(text, result.ptr);
}

std::string format_seconds(double seconds) {
    if (seconds < 0) return "-" + format_seconds(-seconds);
    if (seconds == 0) return "0s";
    if (seconds < 1) return format_number(seconds * 1000) + "ms";
    const double hours = std::floor(seconds / 3600);
    const double minutes = std::floor((seconds - hours * 3600) / 60);
    const double rest = seconds - hours * 3600 - minutes * 60;
    std::string text;
    if (hours > 0) text += format_number(hours) + "h";
    if (minutes > 0) text += format_number(minutes) + "m";
    if (rest > 0) text += format_number(rest) + "s";
    return text;
}

std::string format_cell(const nlohmann::json& value) {
    if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        return text.empty() ? "\"\"" : text;
    }
    if (value.is_number()) return format_number(value.get<double>());
    if (value.is_null()) return "-";
    return value.dump();
}

nlohmann::ordered_json member(const nlohmann::ordered_json& object, const char* name) {
    return object.contains(name) ? object[name] : nlohmann::ordered_json();
}

}  // namespace sluice::ctl
