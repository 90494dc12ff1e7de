// Reading a whole (small) file: a token, a config, a quota.
#pragma once

#include "common/checked.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>

namespace sluice::ctl {

// The file's content, or the system's reason it cannot be read.
Checked<std::string> read_text(const std::filesystem::path& file);

// The JSON object in `file`; Failure(usage) saying "cannot read F: reason",
// "F: invalid JSON: detail" or "F: not a JSON object" otherwise.
nlohmann::json read_json_object(const std::filesystem::path& file);

}  // namespace sluice::ctl
