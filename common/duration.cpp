#include "common/duration.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace sluice {
namespace {

using Nanos = std::uint64_t;
constexpr Nanos kMaxNanos = std::numeric_limits<std::int64_t>::max();

struct Unit {
    std::string_view name;
    Nanos nanos;
};
// Go accepts both the micro sign (U+00B5) and the Greek mu (U+03BC).
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1'000},
    {"\u00b5s", 1'000},
    {"\u03bcs", 1'000},
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
    {"d", 86'400'000'000'000},
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string in_quotes(std::string_view text) {
    return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

using CheckedDuration = Checked<std::chrono::nanoseconds>;

CheckedDuration invalid(std::string_view text) {
    return CheckedDuration::failed(in_quotes(text) + " is not a duration");
}
CheckedDuration out_of_range(std::string_view text) {
    return CheckedDuration::failed(in_quotes(text) + " is out of range");
}

}  // namespace

// Follows Go's time.ParseDuration: exact integer arithmetic for the whole
// part, the fraction scaled in floating point.
CheckedDuration parse_duration(std::string_view text) {
    std::string_view s = text;
    bool negative = false;
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s.empty()) return invalid(text);

    Nanos total = 0;
    bool first = true;
    while (!s.empty()) {
        Nanos whole = 0;
        bool digits = false;
        while (!s.empty() && is_digit(s.front())) {
            const Nanos digit = static_cast<Nanos>(s.front() - '0');
            if (whole > (kMaxNanos - digit) / 10) return out_of_range(text);
            whole = whole * 10 + digit;
            digits = true;
            s.remove_prefix(1);
        }
        Nanos fraction = 0;
        double scale = 1;
        if (!s.empty() && s.front() == '.') {
            s.remove_prefix(1);
            bool precise = true;  // digits beyond 64-bit precision are dropped
            while (!s.empty() && is_digit(s.front())) {
                const Nanos digit = static_cast<Nanos>(s.front() - '0');
                if (precise && fraction > (kMaxNanos - digit) / 10) precise = false;
                if (precise) {
                    fraction = fraction * 10 + digit;
                    scale *= 10;
                }
                digits = true;
                s.remove_prefix(1);
            }
        }
        if (!digits) return invalid(text);

        std::size_t unit_length = 0;
        while (unit_length < s.size() && s[unit_length] != '.' && !is_digit(s[unit_length])) ++unit_length;
        const std::string_view unit_name = s.substr(0, unit_length);
        s.remove_prefix(unit_length);

        Nanos unit = 0;
        if (unit_name.empty() && first && s.empty()) {
            unit = 1'000'000'000;  // a bare number counts seconds
        } else {
            for (const Unit& u : kUnits)
                if (u.name == unit_name) unit = u.nanos;
            if (unit == 0) return invalid(text);
        }

        if (whole > kMaxNanos / unit) return out_of_range(text);
        Nanos value = whole * unit;
        value += static_cast<Nanos>(static_cast<double>(fraction) * (static_cast<double>(unit) / scale));
        if (value > kMaxNanos || total > kMaxNanos - value) return out_of_range(text);
        total += value;
        first = false;
    }
    const auto signed_total = static_cast<std::int64_t>(total);
    return std::chrono::nanoseconds(negative ? -signed_total : signed_total);
}

CheckedDuration duration_from_seconds(double seconds) {
    const double nanos = std::round(seconds * 1e9);
    // 2^63 is the first double that no longer fits an int64.
    if (!std::isfinite(nanos) || std::fabs(nanos) >= 9223372036854775808.0)
        return CheckedDuration::failed(nlohmann::json(seconds).dump() + " seconds is out of range");
    return std::chrono::nanoseconds(static_cast<std::int64_t>(nanos));
}

std::string duration_text(std::chrono::nanoseconds duration) {
    const std::int64_t n = duration.count();
    if (n == 0) return "0s";
    // From days down; "ns" divides every count. The longer names are the "µs" spellings.
    const auto unit = std::find_if(std::rbegin(kUnits), std::rend(kUnits), [&](const Unit& u) {
        return u.name.size() <= 2 && n % static_cast<std::int64_t>(u.nanos) == 0;
    });
    return std::to_string(n / static_cast<std::int64_t>(unit->nanos)) + std::string(unit->name);
}

}  // namespace sluice
