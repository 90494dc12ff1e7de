#include "sluicectl/commands.h"

#include "sluicectl/failure.h"
#include "sluicectl/format.h"
#include "sluicectl/nodes.h"
#include "sluicectl/prometheus.h"
#include "sluicectl/quota_fields.h"
#include "sluicectl/stats.h"
#include "sluicectl/table.h"

#include <boost/beast/http/status.hpp>

#include <stdexcept>

namespace sluice::ctl {

namespace {

using Json = nlohmann::ordered_json;  // the server's order of fields, for `quota get`

const std::string kQuotasPath = "/v1/sys/quotas/rate-limit";
const std::string kBlocksPath = "/v1/sys/blocks";
const std::string kNodesPath = "/v1/sys/nodes";

std::string quota_path(const std::string& name) { return kQuotasPath + "/" + percent_encode(name); }
std::string block_path(const std::string& ip) { return kBlocksPath + "/" + percent_encode(ip); }

bool succeeded(const AdminResponse& response) { return response.status >= 200 && response.status < 300; }

Json parse_json(const AdminResponse& response) {
    Json body = Json::parse(response.body, nullptr, false);
    if (body.is_discarded()) {
        throw Failure(ExitCode::refused,
                      std::to_string(response.status) + ": the answer is not JSON: " + response.body);
    }
    return body;
}

// The strings of an error answer's "errors" (Vault's form), if it has them.
std::vector<std::string> errors_of(const AdminResponse& response) {
    std::vector<std::string> errors;
    const Json body = Json::parse(response.body, nullptr, false);
    if (!body.is_object() || !body.contains("errors") || !body["errors"].is_array()) return errors;
    for (const Json& error : body["errors"])
        errors.push_back(error.is_string() ? error.get<std::string>() : error.dump());
    return errors;
}

// Throws the Failure that an error answer means.
[[noreturn]] void fail(const AdminResponse& response, const ConnectionSettings& settings) {
    if (response.status == 401) {
        const std::string hint =
            settings.token_problem.empty() ? "pass --token, SLUICE_TOKEN or --config" : settings.token_problem;
        throw Failure(ExitCode::auth, "401 missing client token: " + hint);
    }
    if (response.status == 403) throw Failure(ExitCode::auth, "403 permission denied: the token is wrong");
    const std::string status = std::to_string(response.status);
    const std::vector<std::string> errors = errors_of(response);
    if (errors.empty()) {
        throw Failure(ExitCode::refused, status + ": " +
                                             std::string(boost::beast::http::obsolete_reason(
                                                 static_cast<boost::beast::http::status>(response.status))));
    }
    std::string message;
    for (const std::string& error : errors) message += (message.empty() ? "" : "\n") + status + ": " + error;
    throw Failure(ExitCode::refused, message);
}

// A request that must succeed; on 404 `absent` is thrown when given.
AdminResponse call(AdminClient& client, std::string_view method, const std::string& target,
                   const std::string& body = {}, const std::string& absent = {}) {
    AdminResponse response = client.request(method, target, body);
    if (response.status == 404 && !absent.empty()) throw Failure(ExitCode::refused, absent);
    if (!succeeded(response)) fail(response, client.settings());
    return response;
}

std::string no_quota_named(const std::string& name) { return "no quota named \"" + name + "\""; }

void print_json(std::ostream& out, const Json& value) { out << value.dump(2) << '\n'; }

std::string seconds_cell(const Json& value) {
    return value.is_number() ? format_seconds(value.get<double>()) : format_cell(value);
}

void quota_list(const Invocation& invocation, AdminClient& client, std::ostream& out) {
    const AdminResponse listed = client.request("GET", kQuotasPath + "?list=true");
    Json quotas = Json::array();
    if (listed.status != 404) {  // 404: no quotas at all, as Vault says it
        if (!succeeded(listed)) fail(listed, client.settings());
        const Json names = parse_json(listed)["data"]["keys"];
        for (const Json& name : names) {
            const AdminResponse quota = client.request("GET", quota_path(name.get<std::string>()));
            if (quota.status == 404) continue;  // deleted since the list was made
            if (!succeeded(quota)) fail(quota, client.settings());
            quotas.push_back(parse_json(quota)["data"]);
        }
    }
    if (invocation.json) return print_json(out, quotas);
    if (quotas.empty()) {
        out << "no quotas\n";
        return;
    }
    Table table({"NAME", "PATH", "KEY", "RATE", "INTERVAL", "DEFINED_IN"});
    for (const Json& quota : quotas) {
        const Json method = member(quota, "method");
        const std::string path = format_cell(member(quota, "path"));
        table.add_row(
            {format_cell(member(quota, "name")),
             method.is_string() && !method.get<std::string>().empty() ? method.get<std::string>() + " " + path : path,
             format_cell(member(quota, "key")), format_cell(member(quota, "rate")),
             seconds_cell(member(quota, "interval")), format_cell(member(quota, "defined_in"))});
    }
    out << table.render();
}

void quota_get(const Invocation& invocation, AdminClient& client, std::ostream& out) {
    const Json data =
        parse_json(call(client, "GET", quota_path(invocation.target), {}, no_quota_named(invocation.target)))["data"];
    if (invocation.json) return print_json(out, data);
    Table table({"FIELD", "VALUE"});
    for (const auto& [field, value] : data.items()) {
        const bool duration = field == "interval" || field == "block_interval";
        table.add_row({field, duration ? seconds_cell(value) : format_cell(value)});
    }
    out << table.render();
}

void quota_set(const Invocation& invocation, AdminClient& client, std::ostream& out) {
    const nlohmann::json body = quota_body(invocation.file, invocation.assignments);
    call(client, "POST", quota_path(invocation.target), body.dump());
    if (!invocation.json) out << "quota \"" << invocation.target << "\" saved\n";
}

void quota_delete(const Invocation& invocation, AdminClient& client, std::ostream& out) {
    call(client, "DELETE", quota_path(invocation.target));
    if (!invocation.json) out << "quota \"" << invocation.target << "\" deleted\n";
}

void usage(const Invocation& invocation, AdminClient& client, std::ostream& out) {
    const std::string query = invocation.key ? "?key=" + percent_encode(*invocation.key) : "";
    const Json body = parse_json(
        call(client, "GET", quota_path(invocation.target) + "/usage" + query, {}, no_quota_named(invocation.target)));
    if (invocation.json) return print_json(out, body);
    const Json current = member(body, "current_usage");
    Table table({"QUOTA", "KEY", "REQUESTS_IN_WINDOW", "LIMIT", "REMAINING", "RESET_TIME"});
    table.add_row({format_cell(member(body, "quota")), format_cell(member(body, "key")),
                   format_cell(member(current, "requests_in_window")), format_cell(member(current, "limit")),
                   format_cell(member(current, "remaining")), format_cell(member(current, "reset_time"))});
    out << table.render();
}

void block_list(const Invocation& invocation, AdminClient& client, std::ostream& out) {
    const Json blocks = parse_json(call(client, "GET", kBlocksPath))["data"]["blocks"];
    if (invocation.json) return print_json(out, blocks);
    if (blocks.empty()) {
        out << "no blocked clients\n";
        return;
    }
    Table table({"CLIENT", "EXPIRES", "REMAINING", "ORIGIN"});
    for (const Json& block : blocks) {
        table.add_row({format_cell(member(block, "client")), format_cell(member(block, "expires")),
                       seconds_cell(member(block, "remaining_seconds")), format_cell(member(block, "origin"))});
    }
    out << table.render();
}

void block_add(const Invocation& invocation, AdminClient& client, std::ostream& out) {
    const std::string body = invocation.duration ? Json{{"duration", *invocation.duration}}.dump() : "";
    call(client, "PUT", block_path(invocation.target), body);
    if (!invocation.json) out << "blocked " << invocation.target << '\n';
}

void block_remove(const Invocation& invocation, AdminClient& client, std::ostream& out) {
    call(client, "DELETE", block_path(invocation.target));
    if (!invocation.json) out << "unblocked " << invocation.target << '\n';
}

void nodes(const Invocation& invocation, AdminClient& client, std::ostream& out) {
    const Json data = parse_json(call(client, "GET", kNodesPath))["data"];
    if (invocation.json) return print_json(out, data);
    out << render_nodes(data);
}

void stats(const Invocation& invocation, AdminClient& client, std::ostream& out) {
    const AdminResponse metrics = call(client, "GET", "/metrics");
    std::vector<Sample> samples;
    try {
        samples = parse_prometheus_text(metrics.body);
    } catch (const std::invalid_argument& e) {
        throw Failure(ExitCode::refused, std::string("cannot read /metrics: ") + e.what());
    }
    const Stats summary = summarize(samples);
    if (invocation.json) return print_json(out, stats_json(summary));
    out << render_stats(summary);
}

}  // namespace

void run_command(const Invocation& invocation, AdminClient& client, std::ostream& out) {
    switch (invocation.command) {
    case CommandKind::quota_list: return quota_list(invocation, client, out);
    case CommandKind::quota_get: return quota_get(invocation, client, out);
    case CommandKind::quota_set: return quota_set(invocation, client, out);
    case CommandKind::quota_delete: return quota_delete(invocation, client, out);
    case CommandKind::usage: return usage(invocation, client, out);
    case CommandKind::block_list: return block_list(invocation, client, out);
    case CommandKind::block_add: return block_add(invocation, client, out);
    case CommandKind::block_remove: return block_remove(invocation, client, out);
    case CommandKind::nodes: return nodes(invocation, client, out);
    case CommandKind::stats: return stats(invocation, client, out);
    case CommandKind::help:
    case CommandKind::version: break;
    }
    throw std::logic_error("run_command: help and version are main's");
}

}  // namespace sluice::ctl
