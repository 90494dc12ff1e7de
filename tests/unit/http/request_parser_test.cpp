// The strict request parser: what it accepts becomes exactly one request, and
// what an upstream could read differently is refused with its status and reason.
#include "http/request_parser.h"

#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

namespace http = boost::beast::http;

struct Parsed {
    unsigned status = 0;  // 0: parsed whole; else the refusal's status
    std::string reason;
    std::size_t used = 0;  // bytes of the input that made the request
    Request request;
};

// Feeds `text` as detail::read_until does: all that is buffered, again after
// each arrival of `step` more bytes (1: byte by byte).
Parsed parse(const std::string& text, std::size_t step = 0, std::size_t max_header = 1024,
             std::size_t max_body = 1024) {
    RequestParser parser(max_header, max_body);
    std::string buffered;
    std::size_t fed = 0;
    Parsed out;
    for (;;) {
        boost::beast::error_code ec;
        const std::size_t used = parser.put(boost::asio::buffer(buffered), ec);
        buffered.erase(0, used);
        out.used = fed - buffered.size();
        if (ec && ec != http::error::need_more) {
            EXPECT_EQ(&ec.category(), &request_error_category()) << ec.message();
            out.status = status_of(static_cast<RequestError>(ec.value()));
            out.reason = parser.reason();
            return out;
        }
        if (parser.is_done()) break;
        if (ec != http::error::need_more) continue;  // the header is done: the body next
        const std::size_t more = step == 0 ? text.size() - fed : std::min(step, text.size() - fed);
        if (more == 0) {
            parser.put_eof(ec);
            ADD_FAILURE() << "incomplete: " << ec.message();
            return out;
        }
        buffered += text.substr(fed, more);
        fed += more;
    }
    out.request = parser.release();
    return out;
}

struct Refusal {
    const char* name;
    std::string request;
    unsigned status;
    std::string reason;
};

class Refused : public ::testing::TestWithParam<Refusal> {};

TEST_P(Refused, WithStatusAndReason) {
    const Refusal& row = GetParam();
    for (const std::size_t step : {std::size_t{0}, std::size_t{1}}) {
        const Parsed parsed = parse(row.request, step);
        EXPECT_EQ(parsed.status, row.status) << "step " << step;
        EXPECT_EQ(parsed.reason, row.reason) << "step " << step;
    }
}

const std::string kChunkedHead = "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

INSTANTIATE_TEST_SUITE_P(
    Rows, Refused,
    ::testing::Values(
        Refusal{"LowerCaseMethod", "post /v1/x HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                "method \"post\" is not an upper-case token"},
        Refusal{"MixedCaseMethod", "Get /v1/x HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                "method \"Get\" is not an upper-case token"},
        Refusal{"Connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 400,
                "CONNECT is not supported"},
        Refusal{"OtherScheme", "GET ftp://example.com/v1/x HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                "request target \"ftp://example.com/v1/x\" is not an http(s) URI or a path"},
        Refusal{"AuthorityFormForGet", "GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                "request target \"example.com:80\" is not an http(s) URI or a path"},
        Refusal{"UserInfoInAbsoluteForm", "GET http://u@example.com/x HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                "invalid authority in request target \"http://u@example.com/x\""},
        Refusal{"AsteriskForGet", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "the target \"*\" is only for OPTIONS"},
        Refusal{"BadPercentEncoding", "GET /v1/%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                "invalid request target \"/v1/%zz\""},
        Refusal{"Fragment", "GET /v1/x#y HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid request target \"/v1/x#y\""},
        Refusal{"NonAsciiTarget", "GET /v1/\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                "invalid request target \"/v1/\xc3\xa9\""},
        Refusal{"TwoSpaces", "GET  /v1/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed request line"},
        Refusal{"Http2", "GET /v1/x HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP version 2.0 is not supported"},
        Refusal{"NoVersion", "GET /v1/x\r\nHost: a\r\n\r\n", 400, "malformed request line"},
        Refusal{"BareCrInRequestLine", "GET /v1/x\rHTTP/1.1\r\nHost: a\r\n\r\n", 400,
                "a CR without LF in the request line"},
        Refusal{"NoHost", "GET /v1/x HTTP/1.1\r\n\r\n", 400, "an HTTP/1.1 request needs a Host header field"},
        Refusal{"HostWithAPath", "GET /v1/x HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "invalid Host header field \"a/b\""},
        Refusal{"HostWithUserInfo", "GET /v1/x HTTP/1.1\r\nHost: u@a\r\n\r\n", 400,
                "invalid Host header field \"u@a\""},
        Refusal{"TwoHosts", "GET /v1/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host header field"},
        Refusal{"TwoAuthorizations",
                "GET /v1/x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\nAuthorization: Bearer y\r\n\r\n", 400,
                "more than one Authorization header field"},
        Refusal{"ObsFold", "GET /v1/x HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400,
                "obsolete line folding in the header"},
        Refusal{"TransferEncodingHiddenByFold",
                "POST /v1/x HTTP/1.1\r\nHost: a\r\nX-A: b\r\n Transfer-Encoding: chunked\r\n\r\n", 400,
                "obsolete line folding in the header"},
        Refusal{"SpaceBeforeColon", "GET /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400,
                "invalid header field name \"Transfer-Encoding \""},
        Refusal{"NoColon", "GET /v1/x HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n", 400, "invalid header field name \"X-A\""},
        Refusal{"ControlInValue", std::string("GET /v1/x HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n", 41), 400,
                "invalid value in header field X-A"},
        Refusal{"UnknownCoding", "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 501,
                "transfer coding \"xchunked\" is not supported"},
        Refusal{"ChunkedThenIdentity", "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
                501, "transfer coding \"identity\" is not supported"},
        Refusal{"GzipChunked", "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
                "transfer coding \"gzip\" is not supported"},
        Refusal{"ChunkedTwice",
                "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                400, "Transfer-Encoding must be exactly \"chunked\""},
        Refusal{"EmptyTransferEncoding", "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", 400,
                "Transfer-Encoding must be exactly \"chunked\""},
        Refusal{"ChunkedAndLength",
                "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400,
                "both Transfer-Encoding and Content-Length"},
        Refusal{"ChunkedInHttp10", "POST /v1/x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
                "Transfer-Encoding in an HTTP/1.0 request"},
        Refusal{"TwoLengths", "POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
                400, "more than one Content-Length header field"},
        Refusal{"LengthList", "POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", 400,
                "invalid Content-Length \"3, 3\""},
        Refusal{"SignedLength", "POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", 400,
                "invalid Content-Length \"+3\""},
        Refusal{"LengthOverLimit", "POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1025\r\n\r\n", 413,
                "request body exceeds 1024 bytes"},
        Refusal{"ChunksOverLimit", kChunkedHead + "400\r\n" + std::string(1024, 'x') + "\r\n0\r\n\r\n", 413,
                "request body exceeds 1024 bytes"},
        Refusal{"LongChunkExtension", kChunkedHead + "1;" + std::string(5000, 'e') + "\r\nx\r\n0\r\n\r\n", 400,
                "chunk line longer than 4096 bytes"},
        Refusal{"ChunkExtensionsAddUp",
                kChunkedHead +
                    [] {
                        std::string chunks;
                        for (int i = 0; i < 40; ++i) chunks += "1;" + std::string(40, 'e') + "\r\nx\r\n";
                        return chunks + "0\r\n\r\n";
                    }(),
                413, "request body exceeds 1024 bytes"},
        Refusal{"BadChunkSize", kChunkedHead + "zz\r\nx\r\n0\r\n\r\n", 400, "malformed chunk line"},
        Refusal{"HugeChunkSize", kChunkedHead + "ffffffffffffffffff\r\nx\r\n0\r\n\r\n", 400, "malformed chunk line"},
        Refusal{"ChunkLongerThanSize", kChunkedHead + "1\r\nxy\r\n0\r\n\r\n", 400, "chunk data longer than its size"},
        Refusal{"LargeTrailers",
                kChunkedHead + "1\r\nx\r\n0\r\n" +
                    [] {
                        std::string trailers;
                        for (int i = 0; i < 40; ++i)
                            trailers += "X-T" + std::to_string(i) + ": " + std::string(40, 't') + "\r\n";
                        return trailers + "\r\n";
                    }(),
                431, "trailer section exceeds 1024 bytes"},
        Refusal{"FoldedTrailer", kChunkedHead + "1\r\nx\r\n0\r\nX-T: a\r\n b\r\n\r\n", 400, "malformed trailer field"},
        Refusal{"LargeHeader", "GET /v1/x HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n", 431,
                "request header exceeds 1024 bytes"},
        Refusal{"EndlessEmptyLines", std::string(2000, '\n'), 431, "too many empty lines"}),
    [](const ::testing::TestParamInfo<Refusal>& info) { return std::string(info.param.name); });

TEST(RequestParser, ReadsAPlainRequest) {
    const std::string text = "GET /v1/x?y=1 HTTP/1.1\r\nHost: api.example\r\nX-API-Key: k\r\n\r\n";
    for (const std::size_t step : {std::size_t{0}, std::size_t{1}}) {
        const Parsed parsed = parse(text, step);
        ASSERT_EQ(parsed.status, 0u) << parsed.reason;
        EXPECT_EQ(parsed.used, text.size());
        EXPECT_EQ(parsed.request.method(), http::verb::get);
        EXPECT_EQ(parsed.request.target(), "/v1/x?y=1");
        EXPECT_EQ(parsed.request.version(), 11u);
        EXPECT_EQ(parsed.request[http::field::host], "api.example");
        EXPECT_EQ(parsed.request["x-api-key"], "k");
    }
}

TEST(RequestParser, SkipsEmptyLinesBeforeTheRequestLine) {
    const Parsed parsed = parse("\r\n\r\nGET /v1/x HTTP/1.1\r\nHost: a\r\n\r\n", 1);
    ASSERT_EQ(parsed.status, 0u) << parsed.reason;
    EXPECT_EQ(parsed.request.target(), "/v1/x");
}

TEST(RequestParser, AbsoluteFormBecomesOriginFormWithItsHost) {
    const Parsed parsed = parse("GET HTTP://api.example:8080/v1/x?y HTTP/1.1\r\nHost: other\r\n\r\n");
    ASSERT_EQ(parsed.status, 0u) << parsed.reason;
    EXPECT_EQ(parsed.request.target(), "/v1/x?y");
    EXPECT_EQ(parsed.request.count(http::field::host), 1u);
    EXPECT_EQ(parsed.request[http::field::host], "api.example:8080");

    const Parsed bare = parse("GET https://api.example HTTP/1.1\r\n\r\n");
    ASSERT_EQ(bare.status, 0u) << bare.reason;
    EXPECT_EQ(bare.request.target(), "/");
}

TEST(RequestParser, AsteriskFormForOptions) {
    const Parsed parsed = parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ(parsed.status, 0u) << parsed.reason;
    EXPECT_EQ(parsed.request.target(), "*");
}

TEST(RequestParser, Http10NeedsNoHost) {
    const Parsed parsed = parse("GET /v1/x HTTP/1.0\r\n\r\n");
    ASSERT_EQ(parsed.status, 0u) << parsed.reason;
    EXPECT_EQ(parsed.request.version(), 10u);
}

TEST(RequestParser, DropsFieldNamesWithUnderscores) {
    const Parsed parsed = parse("GET /v1/x HTTP/1.1\r\nHost: a\r\nX_API_KEY: one\r\nX-API-Key: two\r\n\r\n");
    ASSERT_EQ(parsed.status, 0u) << parsed.reason;
    EXPECT_EQ(parsed.request.count("X_API_KEY"), 0u);
    EXPECT_EQ(parsed.request.count("X-API-Key"), 1u);
    EXPECT_EQ(parsed.request["X-API-Key"], "two");
}

TEST(RequestParser, ChunkedBodyWithExtensionsAndTrailersKeepsNoTrailerField) {
    const std::string text =
        kChunkedHead +
        "5;name=\"value\"\r\nhello\r\n1\r\n!\r\n0;last\r\nHost: evil\r\nX-Forwarded-For: 10.0.0.1\r\n"
        "Authorization: Bearer stolen\r\n\r\n";
    for (const std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
        const Parsed parsed = parse(text, step);
        ASSERT_EQ(parsed.status, 0u) << parsed.reason;
        EXPECT_EQ(parsed.used, text.size());
        EXPECT_EQ(parsed.request.body(), "hello!");
        EXPECT_EQ(parsed.request[http::field::host], "a");
        EXPECT_EQ(parsed.request.count(http::field::host), 1u);
        EXPECT_EQ(parsed.request.count("X-Forwarded-For"), 0u);
        EXPECT_EQ(parsed.request.count(http::field::authorization), 0u);
        EXPECT_EQ(parsed.request.count(http::field::transfer_encoding), 0u) << "the body is whole now";
    }
}

TEST(RequestParser, TransferEncodingChunkedIsCaseInsensitive) {
    const Parsed parsed =
        parse("POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
    ASSERT_EQ(parsed.status, 0u) << parsed.reason;
    EXPECT_EQ(parsed.request.body(), "ok");
}

TEST(RequestParser, LeavesAPipelinedRequestUnread) {
    const std::string first = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    const Parsed parsed = parse(first + "GET /b HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ(parsed.status, 0u) << parsed.reason;
    EXPECT_EQ(parsed.used, first.size());
    EXPECT_EQ(parsed.request.body(), "abc");
}

TEST(RequestParser, BareLineFeedsEndLines) {
    const Parsed parsed = parse("GET /v1/x HTTP/1.1\nHost: a\n\n");
    ASSERT_EQ(parsed.status, 0u) << parsed.reason;
    EXPECT_EQ(parsed.request[http::field::host], "a");
}

TEST(RequestParser, EndOfStreamWithinARequestIsPartial) {
    RequestParser parser(1024, 1024);
    boost::beast::error_code ec;
    const std::string text = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc";
    parser.put(boost::asio::buffer(text), ec);
    parser.put_eof(ec);
    EXPECT_EQ(ec, http::error::partial_message);
}

}  // namespace
}  // namespace sluice
