#include "config/store_settings_json.h"

#include <algorithm>
#include <cctype>

namespace sluice {
namespace {

constexpr std::size_t kMaxKeyPrefix = 64;
constexpr std::chrono::seconds kMaxTimeout{10};

std::optional<RedisEndpoint> parse_url(const JsonField& field) {
    const std::optional<std::string> text = field.string();
    if (!text) return std::nullopt;
    Checked<RedisEndpoint> endpoint = parse_redis_url(*text);
    if (endpoint.ok()) return std::move(endpoint).value();
    field.error(endpoint.error());
    return std::nullopt;
}

void read_seeds(const JsonField& field, std::vector<RedisEndpoint>& seeds) {
    field.for_each_element([&](const JsonField& element) {
        const std::optional<std::string> text = element.string();
        if (!text) return;
        Checked<RedisEndpoint> seed = parse_redis_seed(*text);
        if (seed.ok())
            seeds.push_back(std::move(seed).value());
        else
            element.error(seed.error());
    });
    if (field.value().is_array() && field.value().empty()) field.error("must list at least one node");
}

std::optional<std::string> parse_key_prefix(const JsonField& field) {
    std::optional<std::string> prefix = field.string();
    if (!prefix) return std::nullopt;
    if (prefix->size() > kMaxKeyPrefix) {
        field.error("must be at most " + std::to_string(kMaxKeyPrefix) + " characters");
        return std::nullopt;
    }
    // The first braces of a key name its Redis Cluster hash tag: the identity's.
    if (prefix->find_first_of("{}") != std::string::npos) {
        field.error("must not hold \"{\" or \"}\": the braces after it hold the key's hash tag");
        return std::nullopt;
    }
    return prefix;
}

// A host's name in the fleet: shown by `sluicectl nodes`, and its heartbeat's key.
std::optional<std::string> parse_node_name(const JsonField& field) {
    std::optional<std::string> name = field.string();
    if (!name) return std::nullopt;
    const bool valid = !name->empty() && name->size() <= 64 && std::all_of(name->begin(), name->end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
    });
    if (valid) return name;
    field.error("must be 1 to 64 letters, digits, \".\", \"-\" or \"_\"");
    return std::nullopt;
}

std::optional<StoreErrorPolicy> parse_on_error(const JsonField& field) {
    const std::optional<std::string> text = field.string();
    if (!text) return std::nullopt;
    if (*text == "local") return StoreErrorPolicy::local;
    if (*text == "open") return StoreErrorPolicy::open;
    if (*text == "closed") return StoreErrorPolicy::closed;
    field.error(field.value().dump() + R"( is not one of "local", "open", "closed")");
    return std::nullopt;
}

}  // namespace

std::optional<RedisStoreConfig> parse_store_settings(const JsonField& section, const std::filesystem::path& folder) {
    const std::size_t errors_before = section.error_count();
    RedisStoreConfig config;
    std::optional<std::string> type;
    std::vector<std::string> redis_members;
    const bool is_object = section.for_each_member([&](const std::string& name, const JsonField& value) {
        if (name == "type") {
            type = value.string();
            if (type && *type != "local" && *type != "redis")
                value.error(value.value().dump() + R"( is not one of "local", "redis")");
            return true;
        }
        if (name == "url") {
            if (auto endpoint = parse_url(value)) config.settings.endpoint = std::move(*endpoint);
        } else if (name == "cluster") {
            read_seeds(value, config.settings.cluster);
        } else if (name == "password_file") {
            if (auto path = value.path(folder)) config.password_file = std::move(*path);
        } else if (name == "key_secret_file") {
            if (auto path = value.path(folder)) config.key_secret_file = std::move(*path);
        } else if (name == "key_prefix") {
            if (auto prefix = parse_key_prefix(value)) config.settings.key_prefix = std::move(*prefix);
        } else if (name == "timeout") {
            if (auto timeout = value.duration(false, kMaxTimeout)) config.settings.timeout = timeout->count();
        } else if (name == "on_error") {
            if (auto policy = parse_on_error(value)) config.on_error = *policy;
        } else if (name == "node") {
            if (auto node = parse_node_name(value)) config.node = std::move(*node);
        } else {
            return false;
        }
        redis_members.push_back(name);
        return true;
    });
    if (!is_object) return std::nullopt;
    if (!section.value().contains("type")) section.missing("type");
    if (type == "local") {
        for (const std::string& name : redis_members) section.error_at(name, R"(only with "type": "redis")");
        return std::nullopt;
    }
    if (type != "redis") return std::nullopt;
    const auto given = [&](std::string_view name) {
        return std::find(redis_members.begin(), redis_members.end(), name) != redis_members.end();
    };
    if (!given("url") && !given("cluster")) section.error_at("url", R"(required with "type": "redis" (or "cluster"))");
    if (given("url") && given("cluster"))
        section.error_at("cluster", R"(either "url" (one Redis) or "cluster" (its seed nodes), not both)");
    if (!given("key_secret_file"))
        section.error_at("key_secret_file", R"(required with "type": "redis": the key tokens and API keys are )"
                                            "hashed with, the same file on every host");
    if (section.error_count() != errors_before) return std::nullopt;
    return config;
}

}  // namespace sluice
