// sluiced's configuration: the JSON file given with --config, plus the quota
// files it names. Parsing validates everything and reports every error with
// its JSON path, so `sluiced --check` can list them all at once.
#pragma once

#include "config/store_config.h"
#include "xdp/settings.h"
#include "proxy/settings.h"
#include "limit/quota.h"
#include "limit/quota_matcher.h"

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

// The admin API (Vault-compatible) and where its token is.
struct AdminSettings {
    ListenAddress listen{"127.0.0.1", 9901};
    // Created with a random token (mode 0600) when missing. Default:
    // <state_dir>/admin.token.
    std::filesystem::path token_file;
    std::size_t max_body_bytes = 64 * 1024;
    bool operator==(const AdminSettings&) const = default;
};

struct Config {
    ProxySettings proxy;  // listen, upstream, trusted proxies, limits
    HeaderStyle headers = HeaderStyle::draft;
    PathMatching path_matching;              // how request paths meet quota paths
    std::vector<Quota> quotas;               // inline first, then quota files in glob order
    std::vector<std::string> quota_sources;  // per quota: the file it is defined in
    std::size_t max_keys = 1'000'000;
    std::vector<std::string> quota_files;  // globs as configured
    std::optional<XdpSettings> xdp;        // absent: no XDP program
    std::optional<AdminSettings> admin;    // absent: no admin API
    // API-made quotas, quota settings and the block list live here; relative
    // to the config file's folder when relative. Required with `admin`.
    std::optional<std::filesystem::path> state_dir;
    std::size_t max_blocks = 65536;         // limits.max_blocks: entries of the block list
    std::optional<RedisStoreConfig> store;  // absent: this host's own store
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
