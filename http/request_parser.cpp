#include "http/request_parser.h"

#include "http/wire.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cctype>

namespace sluice {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

class RequestErrorCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sluice.request"; }
    std::string message(int value) const override {
        switch (static_cast<RequestError>(value)) {
        case RequestError::header_too_large: return "request header too large";
        case RequestError::body_too_large: return "request body too large";
        case RequestError::bad_request: return "bad request";
        case RequestError::not_implemented: return "not implemented";
        case RequestError::version_not_supported: return "HTTP version not supported";
        }
        return "request error";
    }
};

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    return (c | 0x20) - 'a' + 10;
}

bool iequals(std::string_view a, std::string_view b) {
    return beast::iequals(beast::string_view(a.data(), a.size()), beast::string_view(b.data(), b.size()));
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// A line ends in CRLF, or a bare LF (RFC 9112 §2.2 lets a recipient take
// it); a CR anywhere else is an error. `line` excludes the ending.
bool strip_cr(std::string_view& line) {
    if (line.ends_with('\r')) line.remove_suffix(1);
    return line.find('\r') == std::string_view::npos;
}

// Visible ASCII only, no fragment, and every '%' followed by two hex digits:
// what an upstream might decode differently from the quota matcher is refused.
bool valid_target_chars(std::string_view target) {
    for (std::size_t i = 0; i < target.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(target[i]);
        if (c <= 0x20 || c >= 0x7f || c == '#') return false;
        if (c == '%' && (i + 2 >= target.size() || !is_hex(target[i + 1]) || !is_hex(target[i + 2]))) return false;
    }
    return true;
}

// uri-host [ ":" port ] (RFC 9110 §7.2): an upstream that picks a virtual
// host by it must not see a path, a space or user info there.
bool valid_host(std::string_view host) {
    return std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               std::string_view("-._~!$&'()*+,;=%:[]").find(c) != std::string_view::npos;
    });
}

// A field value: no control characters but HTAB (obs-text is allowed).
bool valid_field_value(std::string_view value) {
    return std::none_of(value.begin(), value.end(), [](char ch) {
        const unsigned char c = static_cast<unsigned char>(ch);
        return (c < 0x20 && c != '\t') || c == 0x7f;
    });
}

std::string quoted(std::string_view s) {
    constexpr std::size_t shown = 64;
    return '"' + std::string(s.substr(0, shown)) + (s.size() > shown ? "...\"" : "\"");
}

}  // namespace

const boost::system::error_category& request_error_category() {
    static const RequestErrorCategory category;
    return category;
}

beast::error_code make_error_code(RequestError e) { return {static_cast<int>(e), request_error_category()}; }

unsigned status_of(RequestError e) {
    switch (e) {
    case RequestError::header_too_large: return 431;
    case RequestError::body_too_large: return 413;
    case RequestError::not_implemented: return 501;
    case RequestError::version_not_supported: return 505;
    case RequestError::bad_request: break;
    }
    return 400;
}

void RequestParser::fail(beast::error_code& ec, RequestError error, std::string reason) {
    ec = error;
    reason_ = std::move(reason);
}

void RequestParser::fail_body_too_large(beast::error_code& ec) {
    fail(ec, RequestError::body_too_large, "request body exceeds " + std::to_string(max_body_bytes_) + " bytes");
}

std::size_t RequestParser::put(boost::asio::const_buffer buffer, beast::error_code& ec) {
    const std::string_view bytes(static_cast<const char*>(buffer.data()), buffer.size());
    ec = {};
    std::size_t used = 0;
    while (state_ != State::done) {
        const std::string_view rest = bytes.substr(used);
        if (rest.empty()) {
            ec = http::error::need_more;
            break;
        }
        std::size_t n = 0;
        const bool was_head = state_ == State::head;
        switch (state_) {
        case State::head: n = parse_head(rest, ec); break;
        case State::body: n = parse_body(rest); break;
        case State::chunk_line: n = parse_chunk_line(rest, ec); break;
        case State::chunk_data: n = parse_body(rest); break;
        case State::chunk_end: n = parse_chunk_end(rest, ec); break;
        case State::trailers: n = parse_trailer(rest, ec); break;
        case State::done: break;
        }
        used += n;
        if (ec) break;
        // As Beast's parsers: a call that completes the header ends there, so
        // the caller can answer "Expect: 100-continue" before the body.
        if (was_head && state_ != State::head) break;
    }
    return used;
}

void RequestParser::put_eof(beast::error_code& ec) {
    ec = is_done() ? beast::error_code{} : beast::error_code(http::error::partial_message);
}

std::size_t RequestParser::parse_head(std::string_view bytes, beast::error_code& ec) {
    // Empty lines before the request line are skipped (and count against
    // the header limit through the bytes the caller has to buffer).
    std::size_t start = 0;
    while (start < bytes.size() &&
           (bytes[start] == '\n' || (bytes[start] == '\r' && start + 1 < bytes.size() && bytes[start + 1] == '\n')))
        start += bytes[start] == '\r' ? 2 : 1;
    skipped_ += start;
    if (skipped_ > max_header_bytes_) {
        fail(ec, RequestError::header_too_large, "too many empty lines");
        return start;
    }
    if (start == bytes.size() || (bytes.size() - start == 1 && bytes[start] == '\r')) {
        ec = http::error::need_more;
        return start;
    }
    got_some_ = true;
    const std::string_view head = bytes.substr(start);
    // The head ends at an empty line: "\n\r\n" or "\n\n".
    std::size_t end = std::string_view::npos;
    for (std::size_t i = scanned_; i < head.size() && end == std::string_view::npos; ++i) {
        if (head[i] != '\n') continue;
        if (i + 1 < head.size() && head[i + 1] == '\n')
            end = i + 2;
        else if (i + 2 < head.size() && head[i + 1] == '\r' && head[i + 2] == '\n')
            end = i + 3;
    }
    if (end == std::string_view::npos) {
        if (head.size() > max_header_bytes_) {
            fail(ec, RequestError::header_too_large,
                 "request header exceeds " + std::to_string(max_header_bytes_) + " bytes");
            return start;
        }
        scanned_ = head.size() > 2 ? head.size() - 2 : 0;
        ec = http::error::need_more;
        return start;
    }
    if (end > max_header_bytes_) {
        fail(ec, RequestError::header_too_large,
             "request header exceeds " + std::to_string(max_header_bytes_) + " bytes");
        return start;
    }
    const std::size_t line_end = head.find('\n');
    std::string_view request_line = head.substr(0, line_end);
    if (!strip_cr(request_line)) {
        fail(ec, RequestError::bad_request, "a CR without LF in the request line");
        return start;
    }
    if (!read_request_line(request_line, ec)) return start;
    if (!read_fields(head.substr(line_end + 1, end - line_end - 1), ec)) return start;
    if (!choose_body(ec)) return start;
    return start + end;
}

bool RequestParser::read_request_line(std::string_view line, beast::error_code& ec) {
    const std::size_t method_end = line.find(' ');
    const std::size_t target_end = method_end == std::string_view::npos ? method_end : line.find(' ', method_end + 1);
    if (target_end == std::string_view::npos) {
        fail(ec, RequestError::bad_request, "malformed request line");
        return false;
    }
    const std::string_view method = line.substr(0, method_end);
    std::string_view target = line.substr(method_end + 1, target_end - method_end - 1);
    const std::string_view version = line.substr(target_end + 1);

    if (version == "HTTP/1.1") {
        request_.version(11);
    } else if (version == "HTTP/1.0") {
        request_.version(10);
    } else if (version.size() == 8 && version.starts_with("HTTP/") &&
               std::isdigit(static_cast<unsigned char>(version[5])) && version[6] == '.' &&
               std::isdigit(static_cast<unsigned char>(version[7]))) {
        fail(ec, RequestError::version_not_supported,
             "HTTP version " + std::string(version.substr(5)) + " is not supported");
        return false;
    } else {
        fail(ec, RequestError::bad_request, "malformed request line");
        return false;
    }
    // Frameworks route "post" as POST while the quota matcher would not; nginx
    // refuses such methods too.
    if (!is_token(method) || std::any_of(method.begin(), method.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
        fail(ec, RequestError::bad_request, "method " + quoted(method) + " is not an upper-case token");
        return false;
    }
    if (method == "CONNECT") {
        fail(ec, RequestError::bad_request, "CONNECT is not supported");
        return false;
    }
    if (target.empty() || !valid_target_chars(target)) {
        fail(ec, RequestError::bad_request, "invalid request target " + quoted(target));
        return false;
    }
    if (target.front() != '/') {
        if (target == "*") {
            if (method != "OPTIONS") {
                fail(ec, RequestError::bad_request, "the target \"*\" is only for OPTIONS");
                return false;
            }
        } else {
            const std::size_t colon = target.find("://");
            const std::string_view scheme = target.substr(0, colon);
            if (colon == std::string_view::npos || !(iequals(scheme, "http") || iequals(scheme, "https"))) {
                fail(ec, RequestError::bad_request,
                     "request target " + quoted(target) + " is not an http(s) URI or a path");
                return false;
            }
            const std::string_view rest = target.substr(colon + 3);
            const std::size_t path_at = std::min(rest.find_first_of("/?"), rest.size());
            const std::string_view authority = rest.substr(0, path_at);
            if (authority.empty() || authority.find('@') != std::string_view::npos) {
                fail(ec, RequestError::bad_request, "invalid authority in request target " + quoted(target));
                return false;
            }
            authority_.assign(authority);
            target = rest.substr(path_at);
        }
    }
    request_.method_string(beast::string_view(method.data(), method.size()));
    if (target.empty() || target.front() == '?') {
        request_.target("/" + std::string(target));
    } else {
        request_.target(beast::string_view(target.data(), target.size()));
    }
    return true;
}

bool RequestParser::read_fields(std::string_view text, beast::error_code& ec) {
    while (!text.empty()) {
        const std::size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        if (!strip_cr(line)) {
            fail(ec, RequestError::bad_request, "a CR without LF in a header field");
            return false;
        }
        if (line.empty()) break;  // the end of the head
        if (line.front() == ' ' || line.front() == '\t') {
            fail(ec, RequestError::bad_request, "obsolete line folding in the header");
            return false;
        }
        const std::size_t colon = line.find(':');
        const std::string_view name = line.substr(0, colon);
        if (colon == std::string_view::npos || !is_token(name)) {
            fail(ec, RequestError::bad_request, "invalid header field name " + quoted(name));
            return false;
        }
        const std::string_view value = trim(line.substr(colon + 1));
        if (!valid_field_value(value)) {
            fail(ec, RequestError::bad_request, "invalid value in header field " + std::string(name));
            return false;
        }
        if (name.find('_') != std::string_view::npos) continue;
        request_.insert(beast::string_view(name.data(), name.size()), beast::string_view(value.data(), value.size()));
    }
    for (const http::field once : {http::field::host, http::field::authorization, http::field::proxy_authorization,
                                   http::field::content_length}) {
        if (request_.count(once) > 1) {
            fail(ec, RequestError::bad_request,
                 "more than one " + std::string(http::to_string(once)) + " header field");
            return false;
        }
    }
    const auto host = request_.find(http::field::host);
    if (host != request_.end() && !valid_host({host->value().data(), host->value().size()})) {
        fail(ec, RequestError::bad_request,
             "invalid Host header field " + quoted({host->value().data(), host->value().size()}));
        return false;
    }
    if (!authority_.empty()) {
        request_.set(http::field::host, authority_);
    } else if (request_.version() >= 11 && request_.count(http::field::host) == 0) {
        fail(ec, RequestError::bad_request, "an HTTP/1.1 request needs a Host header field");
        return false;
    }
    return true;
}

bool RequestParser::choose_body(beast::error_code& ec) {
    const auto length = request_.find(http::field::content_length);
    if (request_.count(http::field::transfer_encoding) > 0) {
        if (length != request_.end()) {
            fail(ec, RequestError::bad_request, "both Transfer-Encoding and Content-Length");
            return false;
        }
        if (request_.version() < 11) {
            fail(ec, RequestError::bad_request, "Transfer-Encoding in an HTTP/1.0 request");
            return false;
        }
        // Every coding of every Transfer-Encoding field: only one "chunked", last.
        bool chunked_last = false;
        int chunked = 0;
        for (auto [it, end] = request_.equal_range(http::field::transfer_encoding); it != end; ++it) {
            std::string_view list(it->value().data(), it->value().size());
            while (!list.empty()) {
                const std::size_t comma = std::min(list.find(','), list.size());
                const std::string_view coding = trim(list.substr(0, comma));
                list = comma == list.size() ? std::string_view{} : list.substr(comma + 1);
                if (coding.empty()) continue;
                if (!iequals(coding, "chunked")) {
                    fail(ec, RequestError::not_implemented, "transfer coding " + quoted(coding) + " is not supported");
                    return false;
                }
                ++chunked;
                chunked_last = true;
            }
        }
        if (chunked != 1 || !chunked_last) {
            fail(ec, RequestError::bad_request, "Transfer-Encoding must be exactly \"chunked\"");
            return false;
        }
        request_.erase(http::field::transfer_encoding);
        state_ = State::chunk_line;
        return true;
    }
    if (length != request_.end()) {
        const std::string_view text(length->value().data(), length->value().size());
        std::uint64_t value = 0;
        const bool digits = !text.empty() && text.size() <= 18 &&
                            std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
        for (const char c : text) value = value * 10 + static_cast<unsigned>(c - '0');
        if (!digits) {
            fail(ec, RequestError::bad_request, "invalid Content-Length " + quoted(text));
            return false;
        }
        if (value > body_budget_) {
            fail_body_too_large(ec);
            return false;
        }
        remaining_ = value;
        request_.body().reserve(static_cast<std::size_t>(value));
        state_ = value > 0 ? State::body : State::done;
        return true;
    }
    state_ = State::done;
    return true;
}

std::size_t RequestParser::parse_body(std::string_view bytes) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size()));
    request_.body().append(bytes.data(), n);
    remaining_ -= n;
    if (remaining_ == 0) state_ = state_ == State::body ? State::done : State::chunk_end;
    return n;
}

std::size_t RequestParser::parse_chunk_line(std::string_view bytes, beast::error_code& ec) {
    const std::size_t eol = bytes.find('\n');
    if (eol == std::string_view::npos || eol >= kMaxChunkLine) {
        if (bytes.size() < kMaxChunkLine)
            ec = http::error::need_more;
        else
            fail(ec, RequestError::bad_request, "chunk line longer than " + std::to_string(kMaxChunkLine) + " bytes");
        return 0;
    }
    std::string_view line = bytes.substr(0, eol);
    if (!strip_cr(line)) {
        fail(ec, RequestError::bad_request, "malformed chunk line");
        return 0;
    }
    std::size_t digits = 0;
    std::uint64_t size = 0;
    while (digits < line.size() && is_hex(line[digits]))
        size = size * 16 + static_cast<unsigned>(hex_value(line[digits++]));
    // The extension: ignored, but its characters must be harmless.
    const std::string_view extension = trim(line.substr(digits));
    if (digits == 0 || digits > 15 || (!extension.empty() && extension.front() != ';') ||
        !valid_field_value(extension)) {
        fail(ec, RequestError::bad_request, "malformed chunk line");
        return 0;
    }
    // Chunk lines count against the body limit too, so many tiny chunks with
    // long extensions cannot make a request endless.
    const std::uint64_t cost = size + eol + 1;
    if (cost > body_budget_) {
        fail_body_too_large(ec);
        return 0;
    }
    body_budget_ -= cost;
    remaining_ = size;
    state_ = size == 0 ? State::trailers : State::chunk_data;
    return eol + 1;
}

std::size_t RequestParser::parse_chunk_end(std::string_view bytes, beast::error_code& ec) {
    if (bytes.starts_with("\n")) {
        state_ = State::chunk_line;
        return 1;
    }
    if (bytes.starts_with("\r\n")) {
        state_ = State::chunk_line;
        return 2;
    }
    if (bytes == "\r")
        ec = http::error::need_more;
    else
        fail(ec, RequestError::bad_request, "chunk data longer than its size");
    return 0;
}

std::size_t RequestParser::parse_trailer(std::string_view bytes, beast::error_code& ec) {
    const std::size_t limit = max_header_bytes_ - std::min(trailer_bytes_, max_header_bytes_);
    const std::size_t eol = bytes.find('\n');
    if (eol == std::string_view::npos || eol >= limit) {
        if (bytes.size() < limit)
            ec = http::error::need_more;
        else
            fail(ec, RequestError::header_too_large,
                 "trailer section exceeds " + std::to_string(max_header_bytes_) + " bytes");
        return 0;
    }
    std::string_view line = bytes.substr(0, eol);
    trailer_bytes_ += eol + 1;
    if (!strip_cr(line)) {
        fail(ec, RequestError::bad_request, "malformed trailer field");
        return 0;
    }
    if (line.empty()) {
        state_ = State::done;
        return eol + 1;
    }
    // A trailer field is checked like a header field, then dropped.
    const std::size_t colon = line.find(':');
    if (line.front() == ' ' || line.front() == '\t' || colon == std::string_view::npos ||
        !is_token(line.substr(0, colon)) || !valid_field_value(line.substr(colon + 1))) {
        fail(ec, RequestError::bad_request, "malformed trailer field");
        return 0;
    }
    return eol + 1;
}

}  // namespace sluice
