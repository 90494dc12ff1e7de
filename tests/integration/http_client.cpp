#include "http_client.h"

#include "http/run_with_timeout.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

namespace sluice::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr std::chrono::seconds kOperationTimeout{10};

tcp::endpoint loopback(std::uint16_t port) { return {net::ip::make_address("127.0.0.1"), port}; }

}  // namespace

std::string header(const HttpResponse& response, const std::string& name) {
    const auto it = response.find(name);
    return it == response.end() ? std::string() : std::string(it->value());
}

HttpClient::HttpClient(std::uint16_t port, std::string source_ip) : port_(port), source_ip_(std::move(source_ip)) {}

template <class Start>
void HttpClient::run(Start start) {
    if (const beast::error_code ec = run_with_timeout(ioc_, stream_, buffer_, kOperationTimeout, std::move(start)))
        throw beast::system_error(ec);
}

void HttpClient::connect() {
    stream_.emplace(ioc_);
    buffer_.clear();
    tcp::socket& socket = stream_->socket();
    socket.open(tcp::v4());
    socket.bind({net::ip::make_address(source_ip_), 0});
    run([&](auto handler) { stream_->async_connect(loopback(port_), std::move(handler)); });
}

HttpResponse HttpClient::request(const std::string& method, const std::string& target, const Headers& headers,
                                 const std::string& body) {
    if (!stream_) connect();
    http::request<http::string_body> request;
    request.method_string(method);
    request.target(target);
    request.version(11);
    request.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
    for (const auto& [name, value] : headers) request.insert(name, value);
    request.body() = body;
    request.prepare_payload();
    run([&](auto handler) { http::async_write(*stream_, request, std::move(handler)); });

    http::response_parser<http::string_body> parser;
    parser.skip(request.method() == http::verb::head);
    run([&](auto handler) { http::async_read(*stream_, buffer_, parser, std::move(handler)); });
    HttpResponse response = parser.release();
    if (!response.keep_alive()) stream_.reset();
    return response;
}

RawExchange raw_exchange(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout,
                         const std::string& source_ip) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.socket().open(tcp::v4());
    stream.socket().bind({net::ip::make_address(source_ip), 0});
    stream.connect(loopback(port));
    beast::error_code ec;
    // The server may answer and close before it has read everything.
    net::write(stream.socket(), net::buffer(bytes), ec);

    RawExchange result;
    stream.expires_after(timeout);
    net::async_read(stream, net::dynamic_buffer(result.received), [&ec](beast::error_code e, std::size_t) { ec = e; });
    ioc.run();
    result.closed = ec == net::error::eof;
    return result;
}

bool connection_refused(std::uint16_t port) {
    net::io_context ioc;
    tcp::socket socket(ioc);
    beast::error_code ec;
    socket.connect(loopback(port), ec);
    return ec == net::error::connection_refused;
}

}  // namespace sluice::test
