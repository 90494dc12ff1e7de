#include "config/config.h"

#include "config/quota_json.h"
#include "common/regular_file.h"
#include "config/store_settings_json.h"
#include "config/xdp_settings_json.h"
#include "limit/quota_matcher.h"

#include <glob.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>

namespace sluice {
namespace {

namespace fs = std::filesystem;

// Where a quota was defined, for messages that point at it.
struct Origin {
    std::string file;
    std::string path;
};

std::optional<ListenAddress> parse_listen(const JsonField& field) {
    const std::optional<std::string> text = field.string();
    if (!text) return std::nullopt;
    std::optional<ListenAddress> address = parse_host_port(*text, std::nullopt);
    if (address && parse_ip(address->host)) return address;
    field.error(field.value().dump() + R"( is not an IP address and port, e.g. "127.0.0.1:8080" or "[::1]:8080")");
    return std::nullopt;
}

bool is_host_name(std::string_view host) {
    return std::all_of(host.begin(), host.end(),
                       [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '.'; });
}

std::optional<ListenAddress> parse_upstream(const JsonField& field) {
    const std::optional<std::string> text = field.string();
    if (!text) return std::nullopt;
    constexpr std::string_view kScheme = "http://";
    if (text->starts_with("https://")) {
        field.error("https upstreams are not supported");
        return std::nullopt;
    }
    if (text->starts_with(kScheme)) {
        const std::string_view rest = std::string_view(*text).substr(kScheme.size());
        const std::size_t slash = rest.find('/');
        const std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
        std::optional<ListenAddress> address = parse_host_port(rest.substr(0, slash), 80);
        // A bracketed host was checked as an IPv6 literal already.
        const bool host_ok = address && (rest.starts_with('[') || is_host_name(address->host));
        if (host_ok && (path.empty() || path == "/")) return address;
    }
    field.error(field.value().dump() + R"( is not "http://host[:port]", e.g. "http://127.0.0.1:9000")");
    return std::nullopt;
}

void read_path_matching(const JsonField& field, PathMatching& matching) {
    field.for_each_member([&](const std::string& name, const JsonField& value) {
        bool* target = name == "case_insensitive"        ? &matching.case_insensitive
                       : name == "ignore_trailing_slash" ? &matching.ignore_trailing_slash
                                                         : nullptr;
        if (!target) return false;
        if (auto v = value.boolean()) *target = *v;
        return true;
    });
}

void read_limits(const JsonField& limits, Config& config) {
    ProxySettings& proxy = config.proxy;
    const std::pair<std::string_view, std::size_t*> sizes[] = {
        {"max_keys", &config.max_keys},
        {"max_blocks", &config.max_blocks},
        {"max_header_bytes", &proxy.max_header_bytes},
        {"max_body_bytes", &proxy.max_body_bytes},
        {"max_response_bytes", &proxy.max_response_bytes},
        {"max_connections", &proxy.max_connections},
    };
    // 0 means none.
    const std::pair<std::string_view, std::size_t*> counts[] = {
        {"upstream_idle_connections", &proxy.upstream_idle_connections},
        {"max_connections_per_ip", &proxy.max_connections_per_ip},
    };
    struct Duration {
        std::string_view name;
        std::chrono::milliseconds* target;
        bool zero_allowed = false;  // 0 means off
    };
    const Duration durations[] = {
        {"client_timeout", &proxy.client_timeout},
        {"idle_timeout", &proxy.idle_timeout},
        {"upstream_connect_timeout", &proxy.upstream_connect_timeout},
        {"upstream_timeout", &proxy.upstream_timeout},
        {"drain_timeout", &proxy.drain_timeout},
        {"per_ip_block_interval", &proxy.per_ip_block_interval, true},
    };
    limits.for_each_member([&](const std::string& name, const JsonField& value) {
        for (const auto& [size_name, target] : sizes) {
            if (name != size_name) continue;
            if (auto v = value.integer(1)) *target = static_cast<std::size_t>(*v);
            return true;
        }
        for (const auto& [duration_name, target, zero_allowed] : durations) {
            if (name != duration_name) continue;
            // Rounded up: a sub-millisecond timeout must not become 0.
            if (auto v = value.duration(zero_allowed)) *target = std::chrono::ceil<std::chrono::milliseconds>(*v);
            return true;
        }
        for (const auto& [count_name, target] : counts) {
            if (name != count_name) continue;
            if (auto v = value.integer(0)) *target = static_cast<std::size_t>(*v);
            return true;
        }
        return false;
    });
}

AdminSettings parse_admin(const JsonField& admin, const fs::path& folder) {
    AdminSettings settings;
    admin.for_each_member([&](const std::string& name, const JsonField& value) {
        if (name == "listen") {
            if (auto address = parse_listen(value)) settings.listen = std::move(*address);
        } else if (name == "token_file") {
            if (auto path = value.path(folder)) settings.token_file = std::move(*path);
        } else if (name == "max_body_bytes") {
            if (auto v = value.integer(1024, 64 * 1024 * 1024)) settings.max_body_bytes = static_cast<std::size_t>(*v);
        } else {
            return false;
        }
        return true;
    });
    return settings;
}

// glob(3) reports unreadable folders through a plain function pointer.
thread_local std::string glob_failure;

int on_glob_error(const char* path, int error) {
    if (error == ENOENT || error == ENOTDIR) return 0;  // matches nothing, like an empty quotas.d
    glob_failure = std::string(path) + ": " + std::strerror(error);
    return 1;
}

// A folder name inside a glob pattern must match itself only.
std::string escape_glob(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '*' || c == '?' || c == '[' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

// Whether a "[" of `pattern` is never closed: glob(3) would take it as a
// plain character, so the pattern would silently match nothing.
bool has_unclosed_bracket(std::string_view pattern) {
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '\\') {
            ++i;
            continue;
        }
        if (pattern[i] != '[') continue;
        std::size_t j = i + 1;
        if (j < pattern.size() && (pattern[j] == '!' || pattern[j] == '^')) ++j;
        if (j < pattern.size() && pattern[j] == ']') ++j;  // a leading "]" is a member
        while (j < pattern.size() && pattern[j] != ']') {
            // A class like [:alpha:] (or [.x.], [=x=]) ends with its own ":]".
            const bool class_start = pattern[j] == '[' && j + 1 < pattern.size() &&
                                     std::string_view(":.=").find(pattern[j + 1]) != std::string_view::npos;
            if (class_start) {
                const std::size_t end = pattern.find(std::string{pattern[j + 1], ']'}, j + 2);
                if (end == std::string_view::npos) return true;
                j = end + 2;
                continue;
            }
            ++j;
        }
        if (j >= pattern.size()) return true;
        i = j;
    }
    return false;
}

class Loader {
public:
    explicit Loader(const fs::path& file) : file_(file.string()), folder_(file.parent_path()) {}

    ConfigLoad load() {
        if (const std::optional<Json> root = parse_file(file_)) {
            std::vector<ConfigError> found;
            const std::vector<std::string> quota_files = read_root(JsonField(*root, "", found));
            add(found, file_);
            for (const std::string& quota_file : quota_files) read_quota_file(quota_file);
            check_conflicts();
            if (config_.store) check_redis_spans();
        }
        if (!errors_.empty()) return {Config{}, std::move(errors_)};
        return {std::move(config_), {}};
    }

private:
    // Reads the main file's settings and inline quotas; returns the quota
    // files its globs match, so that their quotas come after the inline ones.
    std::vector<std::string> read_root(const JsonField& root) {
        std::vector<std::string> quota_files;
        bool has_listen = false;
        bool has_upstream = false;
        const bool is_object = root.for_each_member([&](const std::string& name, const JsonField& value) {
            if (name == "listen") {
                has_listen = true;
                value.for_each_element([&](const JsonField& element) {
                    if (auto address = parse_listen(element)) config_.proxy.listen.push_back(std::move(*address));
                });
                if (value.value().is_array() && value.value().empty()) value.error("must list at least one address");
            } else if (name == "upstream") {
                has_upstream = true;
                if (auto address = parse_upstream(value)) config_.proxy.upstream = std::move(*address);
            } else if (name == "trusted_proxies") {
                value.for_each_element([&](const JsonField& element) {
                    if (auto cidr = element.cidr()) config_.proxy.trusted_proxies.push_back(*cidr);
                });
            } else if (name == "headers") {
                if (auto style = value.header_style()) config_.headers = *style;
            } else if (name == "path_matching") {
                read_path_matching(value, config_.path_matching);
            } else if (name == "threads") {
                if (auto threads = value.integer(0, 256)) config_.proxy.threads = static_cast<unsigned>(*threads);
            } else if (name == "quotas") {
                read_quotas(value, file_);
            } else if (name == "quota_files") {
                value.for_each_element([&](const JsonField& element) {
                    if (auto pattern = element.string()) {
                        config_.quota_files.push_back(*pattern);
                        expand(*pattern, element, quota_files);
                    }
                });
            } else if (name == "limits") {
                read_limits(value, config_);
            } else if (name == "xdp") {
                config_.xdp = parse_xdp_settings(value);
            } else if (name == "admin") {
                config_.admin = parse_admin(value, folder_);
            } else if (name == "state_dir") {
                config_.state_dir = value.path(folder_);
            } else if (name == "store") {
                config_.store = parse_store_settings(value, folder_);
            } else {
                return false;
            }
            return true;
        });
        if (is_object && !has_listen) root.missing("listen");
        if (is_object && !has_upstream) root.missing("upstream");
        if (is_object && root.value().contains("admin") && !root.value().contains("state_dir"))
            root.error_at("state_dir", "required with \"admin\": quotas made through the admin API are kept there");
        if (config_.admin && config_.admin->token_file.empty() && config_.state_dir)
            config_.admin->token_file = *config_.state_dir / "admin.token";
        return quota_files;
    }

    // Appends the files `pattern` matches (sorted, each file once) to `files`.
    void expand(const std::string& pattern, const JsonField& where, std::vector<std::string>& files) {
        if (has_unclosed_bracket(pattern)) {
            where.error(where.value().dump() + " is not a valid pattern: a \"[\" is not closed");
            return;
        }
        const bool relative = fs::path(pattern).is_relative() && !folder_.empty();
        const std::string full = relative ? escape_glob(folder_.string()) + "/" + pattern : pattern;
        glob_t matches{};
        glob_failure.clear();
        const int result = glob(full.c_str(), 0, &on_glob_error, &matches);
        if (result == 0) {
            for (std::size_t i = 0; i < matches.gl_pathc; ++i)
                if (seen_files_.insert(matches.gl_pathv[i]).second) files.emplace_back(matches.gl_pathv[i]);
        } else if (result == GLOB_ABORTED) {
            where.error("cannot read " + glob_failure);
        } else if (result == GLOB_NOSPACE) {
            where.error("cannot expand the pattern: out of memory");
        } else if (result != GLOB_NOMATCH) {
            where.error("cannot expand the pattern");
        }
        globfree(&matches);
    }

    void read_quota_file(const std::string& file) {
        const std::optional<Json> root = parse_file(file);
        if (!root) return;
        std::vector<ConfigError> found;
        const JsonField object(*root, "", found);
        bool has_quotas = false;
        const bool is_object = object.for_each_member([&](const std::string& name, const JsonField& value) {
            if (name != "quotas") return false;
            has_quotas = true;
            read_quotas(value, file);
            return true;
        });
        if (is_object && !has_quotas) object.missing("quotas");
        add(found, file);
    }

    void read_quotas(const JsonField& array, const std::string& file) {
        array.for_each_element([&](const JsonField& element) {
            const std::size_t errors_before = element.error_count();
            Quota quota = parse_quota(element);
            if (!quota.name.empty()) {
                const Origin origin{file, element.path()};
                const auto [first, inserted] = names_.emplace(quota.name, origin);
                if (!inserted)
                    element.error_at("name", quoted_name(quota.name) + " is already the name of " + first->second.file +
                                                 ": " + first->second.path);
            }
            if (element.error_count() == errors_before) {
                origins_.push_back({file, element.path()});
                config_.quota_sources.push_back(file);
                config_.quotas.push_back(std::move(quota));
            }
        });
    }

    // Quotas with the same key and equally specific paths: reported on the later one.
    void check_conflicts() {
        for (const auto& [earlier, later] : find_conflicts(config_.quotas)) {
            const Origin& origin = origins_[later];
            errors_.push_back({origin.file, origin.path,
                               "conflicts with quota " + quoted_name(config_.quotas[earlier].name) +
                                   ": same key and equally specific path"});
        }
    }

    // The Redis script counts exactly within kRedisMaxSpan.
    void check_redis_spans() {
        for (std::size_t i = 0; i < config_.quotas.size(); ++i) {
            const std::string reason = redis_span_error(LimitParams::from(config_.quotas[i]));
            if (!reason.empty())
                errors_.push_back({origins_[i].file, origins_[i].path, "with the Redis store: " + reason});
        }
    }

    // The document or nullopt, after recording why it could not be read.
    std::optional<Json> parse_file(const std::string& file) {
        const FileText read = read_regular_file(file, kMaxConfigFileBytes);
        if (!read.text) {
            errors_.push_back({file, "", read.error_number != 0 ? "cannot read: " + read.error : read.error});
            return std::nullopt;
        }
        JsonDocument document = parse_json_document(*read.text);
        if (!document.root) {
            document.error.file = file;
            errors_.push_back(std::move(document.error));
            return std::nullopt;
        }
        for (const std::string& path : document.repeated) errors_.push_back({file, path, "repeated field"});
        return std::move(document.root);  // still checked, to report every other error too
    }

    void add(std::vector<ConfigError>& found, const std::string& file) {
        for (ConfigError& error : found) {
            error.file = file;
            errors_.push_back(std::move(error));
        }
        found.clear();
    }

    static std::string quoted_name(const std::string& name) { return "\"" + name + "\""; }

    const std::string file_;
    const fs::path folder_;
    Config config_;
    std::vector<ConfigError> errors_;
    std::vector<Origin> origins_;  // of config_.quotas
    std::map<std::string, Origin> names_;
    std::set<std::string> seen_files_;
};

}  // namespace

std::string to_string(const ConfigError& error) {
    std::string out = error.file;
    for (const std::string* part : {&error.path, &error.reason}) {
        if (part->empty()) continue;
        if (!out.empty()) out += ": ";
        out += *part;
    }
    return out;
}

ConfigLoad load_config(const std::filesystem::path& file) { return Loader(file).load(); }

}  // namespace sluice
