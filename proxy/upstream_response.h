// An upstream's answer and the parser that reads it: the proxy's upstream
// side (upstream_pool) feeds the bytes, the fuzz target feeds them directly.
#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/optional.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Upstream response headers are trusted more than a client's, but still bounded.
inline constexpr std::uint32_t kUpstreamHeaderLimit = 64 * 1024;

// Memory a connection keeps between answers; an unusually large answer's is
// given back.
inline constexpr std::size_t kUpstreamKeptBytes = 64 * 1024;

// The upstream's answer, as much of it as the proxy passes on. One lives
// with each client connection and is filled again for each request, so its
// memory is reused rather than allocated per field.
struct UpstreamResponse {
    struct Field {
        boost::beast::http::field name;                        // field::unknown for a name Beast does not know
        std::size_t name_at, name_size, value_at, value_size;  // in `text`
    };

    unsigned status = 0;
    std::string reason;
    std::vector<Field> fields;  // in the order received
    std::string text;           // the fields' names and values, one after the other
    std::string body;

    std::string_view name(const Field& f) const { return {text.data() + f.name_at, f.name_size}; }
    std::string_view value(const Field& f) const { return {text.data() + f.value_at, f.value_size}; }
    // The first value of a field, or empty.
    std::string_view value(boost::beast::http::field name) const;
    // Empties it; memory held from an unusually large answer is given back.
    void clear();
};

// Parses an answer straight into an UpstreamResponse: names and values are
// copied into one string instead of a node allocated per field.
class ResponseParser final : public boost::beast::http::basic_parser<false> {
public:
    // Sets Beast's body limit too; an answer with a longer body fails with
    // http::error::body_limit.
    ResponseParser(UpstreamResponse& response, std::uint64_t max_body_bytes)
        : response_(response),
          max_body_bytes_(max_body_bytes) {
        response_.clear();
        body_limit(max_body_bytes);
    }

private:
    void on_request_impl(boost::beast::http::verb, boost::beast::string_view, boost::beast::string_view, int,
                         boost::beast::error_code&) override {}

    void on_response_impl(int code, boost::beast::string_view reason, int, boost::beast::error_code& ec) override {
        // Beast takes any three digits; RFC 9110 15: every valid status is in
        // 100..599. Another ("020", "999") would reach the client as a status
        // line it cannot parse ("HTTP/1.1 20 OK"): a failed exchange instead.
        if (code < 100 || code > 599) {
            ec = boost::beast::http::error::bad_status;
            return;
        }
        response_.status = static_cast<unsigned>(code);
        response_.reason.assign(reason.data(), reason.size());
    }

    void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_text,
                       boost::beast::string_view value, boost::beast::error_code&) override {
        if (header_done_) return;
        std::string& text = response_.text;
        const std::size_t name_at = text.size();
        text.append(name_text.data(), name_text.size());
        const std::size_t value_at = text.size();
        text.append(value.data(), value.size());
        response_.fields.push_back({name, name_at, name_text.size(), value_at, value.size()});
    }

    // Fields after the header are trailers: never passed on as header fields.
    void on_header_impl(boost::beast::error_code&) override { header_done_ = true; }

    void on_body_init_impl(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) override {
        // Checked again here: Beast 1.74 finds a Content-Length over the body
        // limit, but in eager mode with body bytes already buffered it drops
        // that error and goes on into the body, and reserving the length
        // would let an upstream make sluiced allocate gigabytes (found by
        // upstream_response_fuzz).
        if (length && *length > max_body_bytes_) {
            ec = boost::beast::http::error::body_limit;
            return;
        }
        if (length) response_.body.reserve(static_cast<std::size_t>(*length));
    }

    std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code&) override {
        return append_body(body);
    }

    void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, boost::beast::error_code&) override {}

    std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body, boost::beast::error_code&) override {
        return append_body(body);
    }

    void on_finish_impl(boost::beast::error_code&) override {}

    std::size_t append_body(boost::beast::string_view body) {
        response_.body.append(body.data(), body.size());
        return body.size();
    }

    UpstreamResponse& response_;
    std::uint64_t max_body_bytes_;
    bool header_done_ = false;
};

}  // namespace sluice
