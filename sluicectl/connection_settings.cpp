#include "sluicectl/connection_settings.h"

#include "sluicectl/failure.h"
#include "sluicectl/file_text.h"

#include <nlohmann/json.hpp>

#include <cstdlib>

namespace sluice::ctl {

namespace {

namespace fs = std::filesystem;

// "host:port", or a URL "http://host[:port][/]" as in VAULT_ADDR.
ListenAddress parse_address(const std::string& text, const std::string& source) {
    std::string_view rest = text;
    std::optional<std::uint16_t> default_port;
    if (rest.starts_with("https://"))
        usage_error(source + ": \"" + text + "\": the admin API speaks plain HTTP, not https");
    if (rest.starts_with("http://")) {
        rest.remove_prefix(std::string_view("http://").size());
        default_port = 80;
    }
    while (rest.ends_with('/')) rest.remove_suffix(1);
    const std::optional<ListenAddress> address = parse_host_port(rest, default_port);
    if (!address) usage_error(source + ": \"" + text + "\" is not HOST:PORT");
    return *address;
}

// A token file's content without its trailing newline, or why there is
// none: it cannot be read or is empty.
Checked<std::string> read_token(const fs::path& file, const std::string& described_as) {
    Checked<std::string> text = read_text(file);
    if (!text.ok()) return Checked<std::string>::failed("cannot read " + described_as + ": " + text.error());
    std::string token = std::move(text).value();
    token.erase(token.find_last_not_of(" \t\r\n") + 1);
    if (token.empty()) return Checked<std::string>::failed(described_as + " is empty");
    return token;
}

// What sluicectl needs from sluiced's config file.
struct AdminConfig {
    fs::path file;
    std::optional<std::string> listen;   // admin.listen
    std::optional<fs::path> token_file;  // admin.token_file, or <state_dir>/admin.token
};

std::optional<std::string> string_member(const nlohmann::json& object, const char* name, const fs::path& file,
                                         const std::string& json_path) {
    const auto it = object.find(name);
    if (it == object.end()) return std::nullopt;
    if (!it->is_string()) usage_error(file.string() + ": " + json_path + ": not a string");
    return it->get<std::string>();
}

// The config file that applies, if any: one asked for must be readable; the
// default one is used only when it exists. nullopt also when the config has
// no admin section.
std::optional<AdminConfig> read_admin_config(const ConnectionFlags& flags, const Environment& environment,
                                             const fs::path& default_config) {
    std::optional<fs::path> file;
    if (flags.config) {
        file = *flags.config;
    } else if (const auto from_environment = environment("SLUICE_CONFIG")) {
        file = *from_environment;
    } else if (std::error_code ignored; fs::exists(default_config, ignored)) {
        file = default_config;
    }
    if (!file) return std::nullopt;

    const nlohmann::json config = read_json_object(*file);
    const auto admin = config.find("admin");
    if (admin == config.end()) return std::nullopt;
    if (!admin->is_object()) usage_error(file->string() + ": admin: not an object");

    const fs::path folder = file->parent_path();
    AdminConfig result{*file, string_member(*admin, "listen", *file, "admin.listen"), std::nullopt};
    if (const auto token_file = string_member(*admin, "token_file", *file, "admin.token_file")) {
        result.token_file = folder / *token_file;  // an absolute token_file replaces the folder
    } else if (const auto state_dir = string_member(config, "state_dir", *file, "state_dir")) {
        result.token_file = folder / *state_dir / "admin.token";
    }
    return result;
}

}  // namespace

Environment process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr || *value == '\0') return std::nullopt;
        return std::string(value);
    };
}

ConnectionSettings resolve_connection(const ConnectionFlags& flags, const Environment& environment,
                                      const fs::path& default_config) {
    // Read only when a flag or variable leaves something open.
    std::optional<std::optional<AdminConfig>> config;
    const auto admin_config = [&]() -> const std::optional<AdminConfig>& {
        if (!config) config = read_admin_config(flags, environment, default_config);
        return *config;
    };

    ConnectionSettings settings{ListenAddress{"127.0.0.1", 9901}, std::nullopt, {}};
    if (flags.address) {
        settings.address = parse_address(*flags.address, "--address");
    } else if (const auto sluice_addr = environment("SLUICE_ADDR")) {
        settings.address = parse_address(*sluice_addr, "SLUICE_ADDR");
    } else if (const auto vault_addr = environment("VAULT_ADDR")) {
        settings.address = parse_address(*vault_addr, "VAULT_ADDR");
    } else if (admin_config() && admin_config()->listen) {
        settings.address = parse_address(*admin_config()->listen, "admin.listen in " + admin_config()->file.string());
    }

    if (flags.token) {
        settings.token = flags.token;
    } else if (flags.token_file) {
        Checked<std::string> token = read_token(*flags.token_file, "--token-file " + *flags.token_file);
        if (!token.ok()) usage_error(token.error());
        settings.token = std::move(token).value();
    } else if (const auto sluice_token = environment("SLUICE_TOKEN")) {
        settings.token = sluice_token;
    } else if (const auto vault_token = environment("VAULT_TOKEN")) {
        settings.token = vault_token;
    } else if (admin_config() && admin_config()->token_file) {
        const AdminConfig& admin = *admin_config();
        Checked<std::string> token = read_token(
            *admin.token_file, "the token file " + admin.token_file->string() + " named by " + admin.file.string());
        if (token.ok())
            settings.token = std::move(token).value();
        else
            settings.token_problem = token.error();
    }
    return settings;
}

}  // namespace sluice::ctl
