#include "proxy/answers.h"

#include "http/wire.h"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/container/small_vector.hpp>

#include <cctype>
#include <cstdio>
#include <optional>

namespace sluice {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// Headers that describe one connection, not the message: never passed on.
// Those that Connection names included.
class HopByHop {
public:
    explicit HopByHop(beast::string_view connection) {
        for (const auto& token : http::token_list{connection}) listed_.push_back(token);
    }

    bool contains(http::field name, beast::string_view name_text) const {
        switch (name) {
        case http::field::connection:
        case http::field::keep_alive:
        case http::field::proxy_connection:
        case http::field::te:
        case http::field::trailer:
        case http::field::transfer_encoding:
        case http::field::upgrade: return true;
        default: break;
        }
        for (const beast::string_view listed : listed_)
            if (beast::iequals(listed, name_text)) return true;
        return false;
    }

private:
    boost::container::small_vector<beast::string_view, 4> listed_;  // views into the Connection value
};

// Ends the head of an answer to the client: Connection, as its version
// needs it to keep (or not keep) the connection, and Content-Length.
void end_answer_head(std::string& out, const Framing& framing, std::optional<std::size_t> content_length) {
    if (framing.version >= 11 && !framing.keep_alive) append_field(out, http::field::connection, "close");
    if (framing.version < 11 && framing.keep_alive) append_field(out, http::field::connection, "keep-alive");
    if (content_length) append_content_length(out, *content_length);
    end_head(out);
}

// 1xx, 204 and 304 answers have no body.
bool may_have_body(unsigned status) { return status >= 200 && status != 204 && status != 304; }

// Whether `fields[i]` is overridden by a later field of the same name (set
// semantics: the last value given for a name is the one sent).
bool overridden(const HeaderFields& fields, std::size_t i) {
    for (std::size_t later = i + 1; later < fields.size(); ++later)
        if (beast::iequals(fields[later].first, fields[i].first)) return true;
    return false;
}

bool names(const HeaderFields& fields, beast::string_view name) {
    for (const auto& field : fields)
        if (beast::iequals(field.first, name)) return true;
    return false;
}

}  // namespace

void append_json_answer(std::string& out, unsigned status, std::string_view body, const HeaderFields& fields,
                        const Framing& framing) {
    append_status_line(out, framing.version, status, view(http::obsolete_reason(static_cast<http::status>(status))));
    if (!names(fields, "Content-Type")) append_field(out, http::field::content_type, "application/json");
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const std::string& name = fields[i].first;
        // The framing fields are the proxy's to set.
        if (overridden(fields, i) || beast::iequals(name, "Content-Length") || beast::iequals(name, "Connection"))
            continue;
        append_field(out, name, fields[i].second);
    }
    const bool body_allowed = may_have_body(status);
    end_answer_head(out, framing, body_allowed ? std::optional(body.size()) : std::nullopt);
    if (body_allowed && !framing.head) out += body;
}

void append_forwarded_response(std::string& out, const UpstreamResponse& response, const HeaderFields& rate_limit,
                               const Framing& framing) {
    append_status_line(out, framing.version, response.status,
                       response.reason.empty() ? view(http::obsolete_reason(static_cast<http::status>(response.status)))
                                               : std::string_view(response.reason));
    // The body's length is the proxy's to state when it sends a body. A HEAD
    // or 304 answer's Content-Length describes what GET would get: kept.
    const bool with_body = may_have_body(response.status) && !framing.head;
    const HopByHop hop_by_hop(beast_view(response.value(http::field::connection)));
    for (const UpstreamResponse::Field& field : response.fields) {
        const std::string_view name = response.name(field);
        if (hop_by_hop.contains(field.name, beast_view(name)) || names(rate_limit, beast_view(name))) continue;
        if (field.name == http::field::content_length && with_body) continue;
        append_field(out, name, response.value(field));
    }
    for (const auto& [name, value] : rate_limit) append_field(out, name, value);
    end_answer_head(out, framing, with_body ? std::optional(response.body.size()) : std::nullopt);
    if (with_body) out += response.body;
}

void append_upstream_request(std::string& out, const Request& request, std::string_view forwarded_for,
                             std::string_view peer, std::string_view default_host) {
    append_request_line(out, view(request.method_string()), view(request.target()));
    const HopByHop hop_by_hop(request[http::field::connection]);
    bool has_host = false;
    bool has_length = false;
    for (const auto& field : request) {
        if (hop_by_hop.contains(field.name(), field.name_string())) continue;
        switch (field.name()) {
        case http::field::expect: continue;
        case http::field::content_length: has_length = true; continue;
        case http::field::host: has_host = true; break;
        case http::field::unknown:
            if (beast::iequals(field.name_string(), beast_view(kXForwardedFor))) continue;
            break;
        default: break;
        }
        append_field(out, view(field.name_string()), view(field.value()));
    }
    out += kXForwardedFor;
    out += ": ";
    if (!forwarded_for.empty()) {
        out += forwarded_for;
        out += ", ";
    }
    out += peer;
    out += "\r\n";
    if (!has_host) append_field(out, http::field::host, default_host);
    // As Beast's prepare_payload: a length for a body, and for methods that
    // expect one; an empty body's "Content-Length: 0" as the client sent it.
    const http::verb method = request.method();
    const bool body_expected = method == http::verb::post || method == http::verb::put || method == http::verb::options;
    if (!request.body().empty() || body_expected || has_length) append_content_length(out, request.body().size());
    end_head(out);
    out += request.body();
}

std::string json_quote(std::string_view text) {
    std::string quoted = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            quoted += '\\';
            quoted += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escape[7];
            std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
            quoted += escape;
        } else {
            quoted += c;
        }
    }
    return quoted + '"';
}

ErrorAnswer json_error(http::status status, std::string_view message) {
    // The error's name is its reason phrase in snake case: "bad_request".
    std::string error(view(http::obsolete_reason(status)));
    for (char& c : error) c = c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return {status, "{\"error\":" + json_quote(error) + ",\"message\":" + json_quote(message) + "}"};
}

}  // namespace sluice
