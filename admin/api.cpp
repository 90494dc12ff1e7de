#include "admin/api.h"

#include "config/quota_json.h"
#include "config/quota_settings_json.h"
#include "config/quota_to_json.h"
#include "fleet/fleet_node_json.h"
#include "common/random_id.h"
#include "limit/algorithms.h"

#include <time.h>

#include <algorithm>
#include <iterator>
#include <chrono>
#include <optional>
#include <string_view>

namespace sluice {
namespace {

constexpr std::string_view kHealthPath = "/v1/sys/health";
constexpr std::string_view kMetricsPath = "/metrics";
constexpr std::string_view kSettingsPath = "/v1/sys/quotas/config";
constexpr std::string_view kQuotasPath = "/v1/sys/quotas/rate-limit";
constexpr std::string_view kBlocksPath = "/v1/sys/blocks";
constexpr std::string_view kNodesPath = "/v1/sys/nodes";
constexpr std::string_view kUsageSuffix = "/usage";
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::chrono::hours kDefaultBlock{1};

// Bodies may quote what a client sent; bytes that are not UTF-8 are replaced
// rather than failing the answer.
std::string json_text(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

AdminResponse json_response(unsigned status, const Json& body) {
    return {status, json_text(body), std::string(kJson), {}};
}

AdminResponse errors_response(unsigned status, const std::vector<std::string>& messages) {
    Json errors = Json::array();
    for (const std::string& message : messages) errors.push_back(message);
    return json_response(status, Json{{"errors", std::move(errors)}});
}

AdminResponse not_found() { return errors_response(404, {}); }

AdminResponse no_content() { return {204, {}, {}, {}}; }

AdminResponse method_not_allowed(std::string_view allowed) {
    AdminResponse response = admin_error(405, "method not allowed");
    response.headers.emplace_back("Allow", std::string(allowed));
    return response;
}

// Vault's envelope around the data of a successful read.
AdminResponse envelope(Json data) {
    Json body = Json::object();
    body["request_id"] = random_uuid();
    body["lease_id"] = "";
    body["renewable"] = false;
    body["lease_duration"] = 0;
    body["data"] = std::move(data);
    body["wrap_info"] = nullptr;
    body["warnings"] = nullptr;
    body["auth"] = nullptr;
    body["mount_type"] = "system";
    return json_response(200, body);
}

AdminResponse change_response(const Change& change) {
    switch (change.status) {
    case Change::Status::applied: return no_content();
    case Change::Status::invalid: return admin_error(400, change.message);
    case Change::Status::failed: return admin_error(500, change.message);
    case Change::Status::unavailable: return admin_error(503, change.message);
    }
    return admin_error(500, change.message);
}

std::string field_message(const ConfigError& error) {
    return error.path.empty() ? error.reason : error.path + ": " + error.reason;
}

AdminResponse invalid_fields(const std::vector<ConfigError>& errors, std::string (*message)(const ConfigError&)) {
    std::vector<std::string> messages;
    for (const ConfigError& error : errors) messages.push_back(message(error));
    return errors_response(400, messages);
}

// Vault's own words where Vault has them.
std::string vault_quota_message(const ConfigError& error) {
    if (error.path == "rate" && (error.reason == "required" || error.reason == "must be greater than 0"))
        return "'rate' is invalid";
    if (error.path == "block_interval" && error.reason == "must not be negative") return "'block' is invalid";
    return field_message(error);
}

// A JSON object from a request body (empty: {}), or the 400 answer.
struct BodyObject {
    Json value;
    std::optional<AdminResponse> error;
};

BodyObject parse_body(const std::string& body) {
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) return {Json::object(), std::nullopt};
    JsonDocument document = parse_json_document(body);
    if (!document.root) return {{}, admin_error(400, field_message(document.error))};
    if (!document.root->is_object()) return {{}, admin_error(400, "request body must be a JSON object")};
    return {std::move(*document.root), std::nullopt};
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 3986 percent-decoding ('+' stays '+': API keys and tokens contain it).
std::optional<std::string> percent_decode(std::string_view text) {
    std::string decoded;
    decoded.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            decoded += text[i];
            continue;
        }
        if (i + 2 >= text.size()) return std::nullopt;
        const int high = hex_value(text[i + 1]);
        const int low = hex_value(text[i + 2]);
        if (high < 0 || low < 0) return std::nullopt;
        decoded += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return decoded;
}

std::string rfc3339(WallTime time) {
    const auto seconds = std::chrono::ceil<std::chrono::seconds>(time.time_since_epoch()).count();
    const time_t t = static_cast<time_t>(seconds);
    tm utc{};
    gmtime_r(&t, &utc);
    char text[32];
    strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

// The rest of `path` after `prefix`, when it starts with it and has more.
std::optional<std::string> after(const std::string& path, std::string_view prefix) {
    if (!path.starts_with(prefix) || path.size() == prefix.size()) return std::nullopt;
    return path.substr(prefix.size());
}

// Go's strconv.ParseBool, which Vault reads `?list=` with.
std::optional<bool> parse_go_bool(std::string_view text) {
    for (std::string_view yes : {"1", "t", "T", "TRUE", "true", "True"})
        if (text == yes) return true;
    for (std::string_view no : {"0", "f", "F", "FALSE", "false", "False"})
        if (text == no) return false;
    return std::nullopt;
}

bool is_list_path(const std::string& path, std::string_view base) {
    return path == base || (path.size() == base.size() + 1 && path.starts_with(base) && path.back() == '/');
}

Json sync_status_json(const FleetSyncStatus& status) {
    Json sync = Json::object();
    sync["state"] = to_string(status.state);
    sync["lag"] = status.lag;
    sync["since"] = rfc3339(status.since);
    sync["applied_seq"] = status.applied_seq;
    sync["pending"] = status.pending;
    return sync;
}

// The record the host wrote to the fleet, between its name and its last heartbeat.
Json node_json(const FleetNode& node) {
    Json entry = {{"name", node.name}};
    entry.update(node_record(node));
    entry["seen"] = rfc3339(node.seen);
    return entry;
}

}  // namespace

AdminResponse admin_error(unsigned status, const std::string& message) { return errors_response(status, {message}); }

// A request's path and query, percent-decoded.
struct AdminApi::Target {
    std::string path;
    std::vector<std::pair<std::string, std::string>> query;

    // nullopt when either has an invalid percent-encoding.
    static std::optional<Target> parse(std::string_view raw_path, std::string_view raw_query) {
        Target target;
        std::optional<std::string> path = percent_decode(raw_path);
        if (!path) return std::nullopt;
        target.path = std::move(*path);
        while (!raw_query.empty()) {
            const std::string_view pair = raw_query.substr(0, raw_query.find('&'));
            raw_query.remove_prefix(std::min(raw_query.size(), pair.size() + 1));
            const std::size_t equals = pair.find('=');
            std::optional<std::string> name = percent_decode(pair.substr(0, equals));
            std::optional<std::string> value =
                percent_decode(equals == std::string_view::npos ? std::string_view{} : pair.substr(equals + 1));
            if (!name || !value) return std::nullopt;
            target.query.emplace_back(std::move(*name), std::move(*value));
        }
        return target;
    }

    std::optional<std::string> param(std::string_view name) const {
        for (const auto& [n, v] : query)
            if (n == name) return v;
        return std::nullopt;
    }
};

AdminApi::AdminApi(ControlPlane& control, AdminAuth auth, MetricsRenderer metrics, std::string version,
                   const FleetMonitor* fleet)
    : control_(control),
      auth_(std::move(auth)),
      metrics_(std::move(metrics)),
      version_(std::move(version)),
      fleet_(fleet) {}

AdminResponse AdminApi::handle(const AdminRequest& request) {
    const std::string_view target = request.target;
    const std::size_t question = target.find('?');
    const std::string_view raw_path = target.substr(0, question);
    if (raw_path == kHealthPath) return request.method == "GET" ? health() : method_not_allowed("GET");

    switch (auth_.check(request.tokens)) {
    case AuthResult::granted: break;
    case AuthResult::missing: return admin_error(401, "missing client token");
    case AuthResult::denied: return admin_error(403, "permission denied");
    }

    const std::string_view raw_query =
        question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
    const std::optional<Target> parsed = Target::parse(raw_path, raw_query);
    if (!parsed) return admin_error(400, "the URL has an invalid percent-encoding");
    // As Vault: GET with a true `list` is LIST; an empty one is not given.
    const std::optional<std::string> list = parsed->param("list");
    if (request.method == "GET" && list && !list->empty()) {
        const std::optional<bool> listing = parse_go_bool(*list);
        if (!listing) return admin_error(400, "list: must be true or false, not " + json_text(*list));
        if (*listing) {
            AdminRequest as_list = request;
            as_list.method = "LIST";
            return route(as_list, *parsed);
        }
    }
    return route(request, *parsed);
}

AdminResponse AdminApi::route(const AdminRequest& request, const Target& target) {
    const std::string& path = target.path;
    if (path == kMetricsPath) {
        if (request.method != "GET") return method_not_allowed("GET");
        return {200, metrics_(), std::string(kPrometheusText), {}};
    }
    if (path == kSettingsPath) return settings(request);
    if (is_list_path(path, kQuotasPath)) return list_quotas(request);
    if (std::optional<std::string> rest = after(path, std::string(kQuotasPath) + "/")) {
        if (rest->ends_with(kUsageSuffix) && rest->size() > kUsageSuffix.size()) {
            const std::string name = rest->substr(0, rest->size() - kUsageSuffix.size());
            if (name.find('/') == std::string::npos)
                return request.method == "GET" ? quota_usage(name, target) : method_not_allowed("GET");
        }
        if (rest->find('/') == std::string::npos) return quota(request, *rest);
        return not_found();
    }
    if (is_list_path(path, kBlocksPath))
        return request.method == "GET" || request.method == "LIST" ? list_blocks() : method_not_allowed("GET, LIST");
    // XDP blocks IPv6 prefixes: their client ("2001:db8::/64") has a slash.
    if (std::optional<std::string> client = after(path, std::string(kBlocksPath) + "/")) return block(request, *client);
    if (path == kNodesPath) return request.method == "GET" ? nodes() : method_not_allowed("GET");
    return not_found();
}

AdminResponse AdminApi::list_quotas(const AdminRequest& request) {
    if (request.method != "LIST") return method_not_allowed("LIST");
    const std::vector<std::string> names = control_.quota_names();
    if (names.empty()) return not_found();
    return envelope(Json{{"keys", names}});
}

AdminResponse AdminApi::quota(const AdminRequest& request, const std::string& name) {
    const std::string& method = request.method;
    if (method == "GET") return read_quota(name);
    if (method == "POST" || method == "PUT") return write_quota(name, request.body);
    if (method == "DELETE") return change_response(control_.delete_quota(name));
    return method_not_allowed("GET, POST, PUT, DELETE");
}

AdminResponse AdminApi::read_quota(const std::string& name) {
    const std::optional<QuotaRecord> record = control_.quota(name);
    if (!record) return not_found();
    return envelope(quota_view_json(record->quota, record->defined_in));
}

// The body holds the quota's fields; its name comes from the URL. Update is
// replace, as in Vault: fields left out take their defaults.
AdminResponse AdminApi::write_quota(const std::string& name, const std::string& body) {
    BodyObject parsed = parse_body(body);
    if (parsed.error) return *parsed.error;
    Json& object = parsed.value;
    std::vector<ConfigError> errors;
    const JsonField root(object, "", errors);
    if (const auto type = object.find("type"); type != object.end()) {
        if (*type != "rate-limit") root.error_at("type", "must be \"rate-limit\"");
        object.erase(type);
    }
    if (const auto given = object.find("name"); given != object.end() && *given != name) {
        root.error_at("name", json_text(*given) + " differs from the name in the URL, " + json_text(name));
    }
    object["name"] = name;
    // What GET answers can be written back as it is (read, edit, write):
    // null is "not set" and defined_in is the server's to say.
    object.erase("defined_in");
    for (auto it = object.begin(); it != object.end();) it = it->is_null() ? object.erase(it) : std::next(it);
    const Quota quota = parse_quota(root);
    if (!errors.empty()) return invalid_fields(errors, vault_quota_message);
    return change_response(control_.put_quota(quota));
}

AdminResponse AdminApi::quota_usage(const std::string& name, const Target& target) {
    const std::string key = target.param("key").value_or("");
    const std::optional<Checked<QuotaUsageReport>> checked = control_.usage(name, key);
    if (!checked) return not_found();
    if (!checked->ok()) return admin_error(400, checked->error());
    const QuotaUsageReport& report = checked->value();
    Json usage = Json::object();
    usage["requests_in_window"] = report.requests_in_window;
    usage["limit"] = report.limit;
    usage["remaining"] = report.remaining;
    usage["reset_time"] = rfc3339(report.reset_time);
    Json body = Json::object();
    body["quota"] = report.quota;
    body["key"] = key;
    body["current_usage"] = std::move(usage);
    return json_response(200, body);
}

AdminResponse AdminApi::settings(const AdminRequest& request) {
    if (request.method == "POST" || request.method == "PUT") return write_settings(request.body);
    if (request.method != "GET") return method_not_allowed("GET, POST, PUT");
    return envelope(quota_settings_to_json(control_.settings()));
}

// Fields left out keep their value.
AdminResponse AdminApi::write_settings(const std::string& body) {
    const BodyObject parsed = parse_body(body);
    if (parsed.error) return *parsed.error;
    std::vector<ConfigError> errors;
    QuotaSettings next = parse_quota_settings(JsonField(parsed.value, "", errors), control_.settings());
    if (!errors.empty()) return invalid_fields(errors, field_message);
    return change_response(control_.set_settings(std::move(next)));
}

AdminResponse AdminApi::list_blocks() {
    const std::vector<BlockRecord> records = control_.blocks();
    const WallTime now = std::chrono::system_clock::now();  // after: never more left than the block's length
    Json blocks = Json::array();
    for (const BlockRecord& record : records) {
        const auto left = std::chrono::ceil<std::chrono::seconds>(record.until - now).count();
        Json entry = Json::object();
        entry["client"] = record.client;
        entry["expires"] = rfc3339(record.until);
        entry["remaining_seconds"] = std::max<std::int64_t>(0, left);
        entry["origin"] = record.origin;
        blocks.push_back(std::move(entry));
    }
    return envelope(Json{{"blocks", std::move(blocks)}});
}

AdminResponse AdminApi::block(const AdminRequest& request, const std::string& client) {
    if (request.method == "DELETE") return change_response(control_.unblock(client));
    if (request.method != "PUT" && request.method != "POST") return method_not_allowed("PUT, POST, DELETE");
    const BodyObject parsed = parse_body(request.body);
    if (parsed.error) return *parsed.error;
    std::chrono::nanoseconds duration = kDefaultBlock;
    std::vector<ConfigError> errors;
    JsonField(parsed.value, "", errors).for_each_member([&](const std::string& name, const JsonField& value) {
        if (name != "duration") return false;
        // As a quota's block_interval: an expiry must stay within the clock's reach.
        if (auto v = value.duration(false, std::chrono::nanoseconds(kMaxSpan))) duration = *v;
        return true;
    });
    if (!errors.empty()) return invalid_fields(errors, field_message);
    return change_response(control_.block(client, duration));
}

AdminResponse AdminApi::nodes() const {
    if (!fleet_)
        return admin_error(404,
                           "no fleet: this host's store is not Redis (store.type \"redis\" shares blocks and quotas)");
    Json nodes = Json::array();
    for (const FleetNode& node : fleet_->nodes()) nodes.push_back(node_json(node));
    return envelope(Json{{"sync", sync_status_json(fleet_->status())}, {"nodes", std::move(nodes)}});
}

AdminResponse AdminApi::health() const {
    Json body = Json::object();
    body["initialized"] = true;
    body["sealed"] = false;
    body["standby"] = false;
    body["version"] = version_;
    body["server_time_utc"] =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    return json_response(200, body);
}

}  // namespace sluice
