// The request body of `quota set NAME field=value...`. Values become the
// JSON types sluiced expects: numbers for rate and burst, true/false for
// inheritable and cumulative, a JSON object for response, strings for the
// rest (durations too: sluiced accepts "1m" as well as 60). sluiced judges
// the fields themselves; a value that does not fit its type here is a
// Failure(usage) naming the field.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::ctl {

nlohmann::json field_value(const std::string& field, std::string_view text);

// The object of `file` (from `quota set --file`), if any, with each
// "field=value" of `assignments` set on top.
nlohmann::json quota_body(const std::optional<std::filesystem::path>& file,
                          const std::vector<std::string>& assignments);

}  // namespace sluice::ctl
