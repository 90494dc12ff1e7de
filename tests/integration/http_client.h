// A synchronous HTTP/1.1 client for integration tests. It keeps its
// connection alive between requests and can bind a chosen source address
// (127.0.0.2, ...) to act as another client IP. Every operation has a
// timeout; failures throw.
#pragma once

#include <utility>  // before awaitable.hpp, which uses std::exchange without it (Boost 1.74)

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::test {

using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
using Headers = std::vector<std::pair<std::string, std::string>>;

// A header's value, or "" when absent.
std::string header(const HttpResponse& response, const std::string& name);

class HttpClient {
public:
    explicit HttpClient(std::uint16_t port, std::string source_ip = "127.0.0.1");

    HttpResponse request(const std::string& method, const std::string& target, const Headers& headers = {},
                         const std::string& body = {});
    HttpResponse get(const std::string& target, const Headers& headers = {}) { return request("GET", target, headers); }

    // Whether the server closed the connection after the last response.
    bool connection_closed() const { return !stream_.has_value(); }

private:
    template <class Start>
    void run(Start start);
    void connect();

    std::uint16_t port_;
    std::string source_ip_;
    boost::asio::io_context ioc_;
    std::optional<boost::beast::tcp_stream> stream_;
    boost::beast::flat_buffer buffer_;
};

// What a raw connection received: everything up to the server's close.
struct RawExchange {
    std::string received;
    bool closed = false;  // false: still open when the timeout ran out
};

// Connects from `source_ip`, writes `bytes` as they are, and reads until the
// server closes the connection or `timeout` passes.
RawExchange raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5),
                         const std::string& source_ip = "127.0.0.1");

// Whether a connection to `port` is refused (nothing listens there).
bool connection_refused(std::uint16_t port);

}  // namespace sluice::test
