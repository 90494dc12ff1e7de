// The upstream response parser, fed bytes directly: what the proxy passes on
// to the client, and what fails the exchange (a 502) instead.
#include "proxy/upstream_response.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace sluice {
namespace {

namespace http = boost::beast::http;

boost::beast::error_code parse(std::string text, UpstreamResponse& response, std::uint64_t max_body = 1024) {
    ResponseParser parser(response, max_body);
    parser.header_limit(kUpstreamHeaderLimit);
    parser.eager(true);
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(text), ec);
    return ec;
}

TEST(UpstreamResponseTest, FieldsAndBodyAreKept) {
    UpstreamResponse response;
    ASSERT_FALSE(parse("HTTP/1.1 201 Created\r\nLocation: /a/1\r\nContent-Length: 2\r\n\r\n{}", response));
    EXPECT_EQ(response.status, 201u);
    EXPECT_EQ(response.reason, "Created");
    ASSERT_EQ(response.fields.size(), 2u);
    EXPECT_EQ(response.value(http::field::location), "/a/1");
    EXPECT_EQ(response.body, "{}");
}

// Found by upstream_response_fuzz: Beast takes any three digits, and "020"
// went on to the client as "HTTP/1.1 20 OK", a status line it cannot parse.
TEST(UpstreamResponseTest, AStatusOutside100To599FailsTheExchange) {
    for (const char* status : {"000", "020", "099", "600", "999"}) {
        SCOPED_TRACE(status);
        UpstreamResponse response;
        EXPECT_EQ(parse(std::string("HTTP/1.1 ") + status + " OK\r\nContent-Length: 0\r\n\r\n", response),
                  http::error::bad_status);
    }
    for (const char* status : {"100", "599"}) {
        UpstreamResponse response;
        EXPECT_FALSE(parse(std::string("HTTP/1.1 ") + status + " OK\r\nContent-Length: 0\r\n\r\n", response));
    }
}

// Found by upstream_response_fuzz: with body bytes in the same read, Beast
// 1.74 (eager) dropped its own body_limit error and the parser reserved the
// announced 3.3 GB.
TEST(UpstreamResponseTest, AContentLengthOverTheLimitFailsBeforeAnyBodyIsKept) {
    UpstreamResponse response;
    EXPECT_EQ(parse("HTTP/1.1 502 Bad Gateway\r\nContent-Length:3330333333\r\n\r\nab", response, 4096),
              http::error::body_limit);
    EXPECT_LT(response.body.capacity(), 4096u);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", response, 4), http::error::body_limit);
    EXPECT_FALSE(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", response, 5));
    EXPECT_EQ(response.body, "hello");
}

}  // namespace
}  // namespace sluice
