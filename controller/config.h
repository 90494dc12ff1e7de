// sluiced's configuration: the JSON file given with --config, plus the quota
// files it names. Parsing validates everything and reports every error with
// its JSON path, so `sluiced --check` can list them all at once.
#pragma once

#include "controller/xdp_settings.h"
#include "proxy/proxy_settings.h"
#include "proxy/quota.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sluice {

struct ConfigError {
    std::string file;  // the config or quota file the error is in
    std::string path;  // JSON path inside it, e.g. quotas[2].interval
    std::string reason;
};
std::string to_string(const ConfigError&);  // "file: path: reason"

struct Config {
    ProxySettings proxy;             // listen, upstream, trusted proxies, limits
    HeaderStyle headers = HeaderStyle::draft;
    std::vector<Quota> quotas;       // inline first, then quota files in glob order
    std::size_t max_keys = 1'000'000;
    std::vector<std::string> quota_files;  // globs as configured
    std::optional<XdpSettings> xdp;        // absent: no XDP program
};

// Either a valid config, or every error found (never both).
struct ConfigLoad {
    Config config;
    std::vector<ConfigError> errors;
    bool ok() const { return errors.empty(); }
};

// Reads and validates `file` and every quota file its globs match (relative
// globs are relative to the config file's folder).
ConfigLoad load_config(const std::filesystem::path& file);

}  // namespace sluice
