// Durations as written in config files and Vault requests: Go-style
// sequences like "500ms", "1h30m", "1.5h", plus "d" for days, or a bare
// number of seconds ("30", as Vault accepts).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace sluice {

struct DurationResult {
    std::chrono::nanoseconds value{0};
    std::string error;  // the reason, e.g. `"5x" is not a duration`; empty on success
    bool ok() const { return error.empty(); }
};

// Units: ns, us (or µs), ms, s, m, h, d. A leading sign is accepted so that
// callers can reject negative values with their own message.
DurationResult parse_duration(std::string_view text);

// A JSON number of seconds, possibly fractional or negative.
DurationResult duration_from_seconds(double seconds);

// In the largest unit that holds it whole, for messages: "36500d", "90s", "1500ms".
std::string duration_text(std::chrono::nanoseconds duration);

}  // namespace sluice
