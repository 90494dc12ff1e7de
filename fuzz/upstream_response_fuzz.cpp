// The upstream response parser (proxy/upstream_response.h), driven as
// UpstreamPool::round_trip drives it: a parser per message, interim 1xx
// answers skipped, the same header limit, a body limit, HEAD without a body.
// Properties beyond "no crash, no sanitizer report":
// - the outcome does not depend on how the bytes arrive (whole vs in pieces
//   whose size comes from the first byte): the same answer, or a failure;
// - an accepted answer is final (not 1xx), has a valid status (100..599,
//   RFC 9110 15), field names that are tokens and values without CR or LF, a
//   body within the limit, none for HEAD, and as many bytes as its
//   Content-Length says when it has one (not chunked, not 204/304).
#include "http/wire.h"
#include "proxy/upstream_response.h"

#include "support/feed_in_pieces.h"
#include "support/fuzz_check.h"
#include "support/input_split.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace {

namespace http = boost::beast::http;
using sluice::fuzz::check;

constexpr std::uint64_t kMaxBodyBytes = 4096;  // small, so the limit is reached often

void check_accepted(const sluice::UpstreamResponse& response, bool head) {
    check(response.status >= 100 && response.status <= 599, "a status outside 100..599 was accepted");
    check(http::to_status_class(response.status) != http::status_class::informational,
          "an interim 1xx answer was returned as the final one");
    check(response.body.size() <= kMaxBodyBytes, "a body over the limit was accepted");
    check(!head || response.body.empty(), "an answer to HEAD carries a body");
    for (const auto& field : response.fields) {
        check(field.name_at + field.name_size <= response.text.size() &&
                  field.value_at + field.value_size <= response.text.size(),
              "a field points outside the response's text");
        check(sluice::is_token(response.name(field)), "a field name that is not a token", response.name(field));
        check(response.value(field).find_first_of("\r\n") == std::string_view::npos, "a field value with CR or LF",
              response.value(field));
    }
    const std::string_view length = response.value(http::field::content_length);
    const bool chunked = !response.value(http::field::transfer_encoding).empty();
    // 204 and 304 have no body whatever Content-Length says (RFC 9110 8.6).
    const bool bodiless = response.status == 204 || response.status == 304;
    if (!head && !bodiless && !chunked && !length.empty()) {
        std::uint64_t n = 0;
        const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), n);
        if (ec == std::errc() && end == length.data() + length.size()) {
            check(response.body.size() == n, "the body is not as long as Content-Length says", length);
        }
    }
}

// What the proxy would pass on: the final answer, or the error that ended
// the exchange.
std::string read_response(std::string_view input, std::size_t piece, bool head) {
    std::ostringstream seen;
    std::string pending;  // the connection's read buffer
    std::size_t offset = 0;
    sluice::UpstreamResponse response;
    for (;;) {
        sluice::ResponseParser parser(response, kMaxBodyBytes);
        parser.header_limit(sluice::kUpstreamHeaderLimit);
        parser.eager(true);
        if (head) parser.skip(true);
        const boost::beast::error_code ec =
            sluice::fuzz::feed_in_pieces(parser, pending, input, offset, piece, [&](boost::beast::error_code& end) {
                if (!parser.got_some()) {
                    end = http::error::end_of_stream;
                } else {
                    parser.put_eof(end);
                }
            });
        // Which error ends the exchange only reaches the log (a 502 either
        // way), and Beast checks a start line it has whole earlier than one
        // that arrives in pieces ("bad version" vs "partial message"): only
        // the failure itself must not depend on the pieces.
        if (ec) {
            seen << "failed\n";
            return seen.str();
        }
        if (http::to_status_class(response.status) == http::status_class::informational) continue;
        check_accepted(response, head);
        seen << response.status << ' ' << response.reason << '\n';
        for (const auto& field : response.fields) {
            seen << response.name(field) << ": " << response.value(field) << '\n';
        }
        seen << "body " << response.body.size() << ": " << response.body << '\n'
             << "keep-alive " << parser.keep_alive() << " unread " << pending.size() + (input.size() - offset) << '\n';
        return seen.str();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sluice::fuzz::InputReader reader(data, size);
    const std::uint8_t control = reader.byte();
    const std::size_t piece = 1 + control % 64;
    const bool head = control & 0x80;
    const std::string_view input = reader.rest();
    const std::string whole = read_response(input, input.size() + 1, head);
    const std::string pieces = read_response(input, piece, head);
    check(whole == pieces, "the outcome depends on how the bytes arrive",
          "--- whole:\n" + whole + "--- pieces:\n" + pieces);
    return 0;
}
