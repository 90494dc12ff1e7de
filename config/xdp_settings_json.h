// Parses the config's `xdp` section into XdpSettings.
#pragma once

#include "config/quota_json.h"
#include "xdp/settings.h"

#include <optional>

namespace sluice {

// nullopt when any error was recorded on `section`.
std::optional<XdpSettings> parse_xdp_settings(const JsonField& section);

}  // namespace sluice
