// Clients that send garbage, too much, or nothing: an answer where one is
// due, and the connection closed.
#include "harness.h"

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

class ClientErrors : public ::testing::Test {
protected:
    Deployment sluice{nlohmann::json{
        {"quotas", {{{"name", "per-ip"}, {"path", ""}, {"rate", 1000}, {"interval", "1m"}}}},
        {"limits", {{"max_header_bytes", 2048}, {"max_body_bytes", 1024}, {"client_timeout", "300ms"}}}}};

    void TearDown() override { EXPECT_EQ(sluice.stop_sluiced(), 0); }
};

TEST_F(ClientErrors, MalformedRequestIs400AndClosed) {
    const RawExchange exchange = raw_exchange(sluice.port(), "THIS IS NOT HTTP\r\n\r\n");
    EXPECT_TRUE(exchange.closed);
    EXPECT_TRUE(exchange.received.starts_with("HTTP/1.1 400 Bad Request\r\n")) << exchange.received;
    EXPECT_NE(exchange.received.find(R"({"error":"bad_request","message":")"), std::string::npos) << exchange.received;
}

TEST_F(ClientErrors, OversizedHeaderIs431AndClosed) {
    const RawExchange exchange =
        raw_exchange(sluice.port(), "GET /v1/x HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
    EXPECT_TRUE(exchange.closed);
    EXPECT_TRUE(exchange.received.starts_with("HTTP/1.1 431 ")) << exchange.received;
    EXPECT_NE(exchange.received.find(
                  R"({"error":"request_header_fields_too_large","message":"request header exceeds 2048 bytes"})"),
              std::string::npos)
        << exchange.received;
}

TEST_F(ClientErrors, OversizedBodyIs413AndClosed) {
    const RawExchange exchange = raw_exchange(
        sluice.port(), "POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4000\r\n\r\n" + std::string(4000, 'b'));
    EXPECT_TRUE(exchange.closed);
    EXPECT_TRUE(exchange.received.starts_with("HTTP/1.1 413 ")) << exchange.received;
    EXPECT_NE(exchange.received.find(R"({"error":"payload_too_large","message":"request body exceeds 1024 bytes"})"),
              std::string::npos)
        << exchange.received;
}

TEST_F(ClientErrors, OversizedChunkedBodyIs413AndClosed) {
    const std::string chunk(800, 'c');
    const RawExchange exchange =
        raw_exchange(sluice.port(), "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n" +
                                        chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
    EXPECT_TRUE(exchange.closed);
    EXPECT_TRUE(exchange.received.starts_with("HTTP/1.1 413 ")) << exchange.received;
}

TEST_F(ClientErrors, AClientThatSendsNothingIsClosedSilently) {
    const RawExchange exchange = raw_exchange(sluice.port(), "");
    EXPECT_TRUE(exchange.closed);
    EXPECT_EQ(exchange.received, "");
}

}  // namespace
}  // namespace sluice::test
