#include "sluicectl/admin_client.h"

#include "http/run_with_timeout.h"
#include "sluicectl/failure.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include <cctype>

namespace sluice::ctl {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

AdminClient::AdminClient(ConnectionSettings settings, std::chrono::seconds timeout)
    : settings_(std::move(settings)),
      timeout_(timeout) {}

template <class Start>
beast::error_code AdminClient::run(Start start) {
    return run_with_timeout(ioc_, stream_, buffer_, timeout_, std::move(start));
}

void AdminClient::fail(const std::string& what, beast::error_code ec, std::string_view hint) const {
    const std::string reason =
        ec == beast::error::timeout ? "timed out after " + std::to_string(timeout_.count()) + "s" : ec.message();
    throw Failure(ExitCode::unreachable, what + " " + host_port(settings_.address) + ": " + reason + std::string(hint));
}

void AdminClient::connect() {
    constexpr std::string_view hint = " (is sluiced running with an admin section?)";
    tcp::resolver resolver(ioc_);
    beast::error_code ec;
    const auto endpoints = resolver.resolve(settings_.address.host, std::to_string(settings_.address.port), ec);
    if (ec) fail("cannot connect to", ec);
    stream_.emplace(ioc_);
    buffer_.clear();
    ec = run([&](auto handler) { stream_->async_connect(endpoints, std::move(handler)); });
    if (ec) fail("cannot connect to", ec, hint);
}

AdminResponse AdminClient::request(std::string_view method, const std::string& target, const std::string& json_body) {
    if (!stream_) connect();
    http::request<http::string_body> request;
    request.method_string(beast::string_view(method.data(), method.size()));
    request.target(target);
    request.version(11);
    request.set(http::field::host, host_port(settings_.address));
    if (settings_.token) request.set("X-Vault-Token", *settings_.token);
    if (!json_body.empty()) request.set(http::field::content_type, "application/json");
    request.body() = json_body;
    request.prepare_payload();
    if (const auto ec = run([&](auto handler) { http::async_write(*stream_, request, std::move(handler)); })) {
        fail("lost the connection to", ec);
    }

    http::response_parser<http::string_body> parser;
    if (const auto ec = run([&](auto handler) { http::async_read(*stream_, buffer_, parser, std::move(handler)); })) {
        fail("no answer from", ec);
    }
    http::response<http::string_body> response = parser.release();
    if (!response.keep_alive()) stream_.reset();
    return {response.result_int(), std::move(response.body())};
}

std::string percent_encode(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string encoded;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) || std::string_view("-._~:@").find(c) != std::string_view::npos) {
            encoded += c;
        } else {
            encoded += '%';
            encoded += hex[byte >> 4];
            encoded += hex[byte & 0xF];
        }
    }
    return encoded;
}

}  // namespace sluice::ctl
