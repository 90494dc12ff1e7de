// The framing of a client's HTTP/1.x request, read strictly (RFC 9112) and
// within bounds, because sluiced counts a request by what it parses and the
// upstream routes it by what it parses: any request the two could read
// differently is refused rather than forwarded.
//
// - request line: an upper-case method token (not CONNECT), an origin-form
//   target, an absolute-form one (http/https: rewritten to origin-form with
//   Host from its authority, as RFC 9112 §3.2.2 has an origin server use it),
//   or "*" for OPTIONS; HTTP/1.0 or HTTP/1.1. Empty lines before it are
//   skipped (RFC 9112 §2.2).
// - fields: token names, no obsolete line folding, no control characters;
//   exactly one Host for HTTP/1.1 (host[:port], nothing else); at most one Host, Authorization,
//   Proxy-Authorization or Content-Length. Names with '_' are dropped, as
//   nginx does: CGI-style servers would merge them with their '-' twin.
// - body: Content-Length, or Transfer-Encoding whose one coding is
//   "chunked" (anything else is 501/400, as RFC 9112 §6.1/§6.3 ask). Chunk
//   lines (extensions included) and the trailer section are bounded;
//   trailer fields are read and dropped, never merged into the header.
//
// Its interface is that of Beast's parsers as detail::read_until drives them.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

using Request = boost::beast::http::request<boost::beast::http::string_body>;

// Why a request was refused; each maps to the status it is answered with.
enum class RequestError {
    header_too_large = 1,   // 431
    body_too_large,         // 413
    bad_request,            // 400
    not_implemented,        // 501: a transfer coding sluiced does not implement
    version_not_supported,  // 505
};

const boost::system::error_category& request_error_category();
boost::beast::error_code make_error_code(RequestError e);
unsigned status_of(RequestError e);

class RequestParser {
public:
    static constexpr std::size_t kMaxChunkLine = 4096;

    RequestParser(std::size_t max_header_bytes, std::uint64_t max_body_bytes)
        : max_header_bytes_(max_header_bytes),
          max_body_bytes_(max_body_bytes),
          body_budget_(max_body_bytes) {}

    // Takes what it can of `bytes`; returns how many it used. ec is
    // http::error::need_more when it needs more input, a RequestError when the
    // request is refused (reason() says why).
    std::size_t put(boost::asio::const_buffer bytes, boost::beast::error_code& ec);
    // The peer closed: partial_message unless the request is whole.
    void put_eof(boost::beast::error_code& ec);

    bool got_some() const { return got_some_; }
    bool is_header_done() const { return state_ != State::head; }
    bool is_done() const { return state_ == State::done; }
    const std::string& reason() const { return reason_; }
    Request& get() { return request_; }
    const Request& get() const { return request_; }
    Request release() { return std::move(request_); }

private:
    enum class State { head, body, chunk_line, chunk_data, chunk_end, trailers, done };

    std::size_t parse_head(std::string_view bytes, boost::beast::error_code& ec);
    std::size_t parse_body(std::string_view bytes);
    std::size_t parse_chunk_line(std::string_view bytes, boost::beast::error_code& ec);
    std::size_t parse_chunk_end(std::string_view bytes, boost::beast::error_code& ec);
    std::size_t parse_trailer(std::string_view bytes, boost::beast::error_code& ec);
    bool read_request_line(std::string_view line, boost::beast::error_code& ec);
    bool read_fields(std::string_view text, boost::beast::error_code& ec);
    bool choose_body(boost::beast::error_code& ec);
    void fail(boost::beast::error_code& ec, RequestError error, std::string reason);

    void fail_body_too_large(boost::beast::error_code& ec);

    std::size_t max_header_bytes_;
    std::uint64_t max_body_bytes_;
    std::uint64_t body_budget_;  // body bytes (and chunk lines) still allowed
    State state_ = State::head;
    bool got_some_ = false;
    std::size_t skipped_ = 0;      // empty lines before the request line
    std::size_t scanned_ = 0;      // head bytes known to hold no end of head
    std::uint64_t remaining_ = 0;  // of the body or the current chunk
    std::size_t trailer_bytes_ = 0;
    std::string authority_;  // absolute-form target's, becomes Host
    std::string reason_;
    Request request_;
};

}  // namespace sluice

template <>
struct boost::system::is_error_code_enum<sluice::RequestError> : std::true_type {};
