// How numbers, durations and JSON values read in sluicectl's tables.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace sluice::ctl {

// Whether `value` is an integer a double holds exactly (counters are).
bool is_whole_number(double value);

// The shortest text that reads back as `value`: 10, 0.5, 2.75; whole
// numbers in full (1000000, not 1e+06).
std::string format_number(double value);

// Seconds as a duration sluiced accepts back: 60 -> "1m", 5400 -> "1h30m",
// 1.5 -> "1.5s", 0.25 -> "250ms", 0 -> "0s".
std::string format_seconds(double seconds);

// A JSON value in a table cell: strings as they are (the empty one as ""),
// numbers as format_number, null as "-", objects and arrays as compact JSON.
std::string format_cell(const nlohmann::json& value);

// A member of an answer's object, or null when the server did not send it.
nlohmann::ordered_json member(const nlohmann::ordered_json& object, const char* name);

}  // namespace sluice::ctl
