// Parses the config's `store` section: where quota state lives (README,
// "Fleet mode"). Absent, or "type": "local": this host's own store.
#pragma once

#include "config/quota_json.h"
#include "config/store_config.h"

#include <filesystem>
#include <optional>

namespace sluice {

// nullopt for the local store, and when an error was recorded on `section`.
std::optional<RedisStoreConfig> parse_store_settings(const JsonField& section, const std::filesystem::path& folder);

}  // namespace sluice
