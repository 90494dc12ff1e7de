// Durations as written in config files and Vault requests: Go-style
// sequences like "500ms", "1h30m", "1.5h", plus "d" for days, or a bare
// number of seconds ("30", as Vault accepts).
#pragma once

#include "common/checked.h"

#include <chrono>
#include <string>
#include <string_view>

namespace sluice {

// The failure names the text: `"5x" is not a duration`, `"99999999h" is out
// of range`. Units: ns, us (or µs), ms, s, m, h, d. A leading sign is accepted so that
// callers can reject negative values with their own message.
Checked<std::chrono::nanoseconds> parse_duration(std::string_view text);

// A JSON number of seconds, possibly fractional or negative.
Checked<std::chrono::nanoseconds> duration_from_seconds(double seconds);

// In the largest unit that holds it whole, for messages: "36500d", "90s", "1500ms".
std::string duration_text(std::chrono::nanoseconds duration);

}  // namespace sluice
