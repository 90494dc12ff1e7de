// The messages the proxy writes, each appended to one string that is sent
// with one send: its own JSON answers (refusals, errors), the upstream's
// answer as the client gets it, and the request as the upstream gets it.
#pragma once

#include "http/request_parser.h"
#include "proxy/rate_limit_headers.h"
#include "proxy/upstream_response.h"

#include <boost/beast/http/status.hpp>

#include <string>
#include <string_view>

namespace sluice {

inline constexpr std::string_view kXForwardedFor = "X-Forwarded-For";

// What the client's request says about how to answer it.
struct Framing {
    unsigned version = 11;
    bool keep_alive = false;
    bool head = false;  // a HEAD request: the answer has no body
};

// An answer the proxy makes itself (a refusal or an error): a JSON body and
// `fields` (Retry-After, rate-limit fields, a quota's configured ones).
void append_json_answer(std::string& out, unsigned status, std::string_view body, const HeaderFields& fields,
                        const Framing& framing);

// The upstream's answer as the client gets it: its end-to-end fields, the
// rate-limit fields (in place of any of the same name), the body.
void append_forwarded_response(std::string& out, const UpstreamResponse& response, const HeaderFields& rate_limit,
                               const Framing& framing);

// The request as the upstream gets it: HTTP/1.1, its end-to-end fields (the
// proxy answered Expect already), X-Forwarded-For with the peer appended,
// Host when an HTTP/1.0 client left it out, the body's length.
void append_upstream_request(std::string& out, const Request& request, std::string_view forwarded_for,
                             std::string_view peer, std::string_view default_host);

// `text` as a JSON string, quotes included.
std::string json_quote(std::string_view text);

// The one shape of every error the proxy itself answers.
struct ErrorAnswer {
    boost::beast::http::status status;
    std::string body;
};

// {"error": the status's reason in snake case, "message": `message`}.
ErrorAnswer json_error(boost::beast::http::status status, std::string_view message);

}  // namespace sluice
