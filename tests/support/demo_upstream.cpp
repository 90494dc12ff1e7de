// A small real upstream for `make run` and the integration tests. It answers
// every request with 200 and a JSON echo of what it received:
//   {"method", "path" (the target, query included), "headers" (lower-case
//    names), "body", "connection" (number of the TCP connection, from 1)}
// The connection number lets tests see that the proxy reuses connections.
// Special paths: /slow?ms=N answers after N ms; /status/NNN answers with
// status NNN; /bytes?n=N answers with a body of N bytes (no echo).
#include "proxy/settings.h"

#include <utility>  // before awaitable.hpp, which uses std::exchange without it (Boost 1.74)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

std::string_view view(beast::string_view s) { return {s.data(), s.size()}; }

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// The number at the start of `text`, or `fallback`.
unsigned number(std::string_view text, unsigned fallback) {
    unsigned value = fallback;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

std::string echo(const http::request<http::string_body>& request, unsigned long long connection) {
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& field : request) {
        const std::string name = lower(view(field.name_string()));
        const std::string value(view(field.value()));
        headers[name] = headers.contains(name) ? headers[name].get<std::string>() + ", " + value : value;
    }
    return nlohmann::json{{"method", view(request.method_string())},
                          {"path", view(request.target())},
                          {"headers", headers},
                          {"body", request.body()},
                          {"connection", connection}}
        .dump();
}

net::awaitable<void> serve(tcp::socket socket, unsigned long long connection) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        beast::error_code ec;
        co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
        if (ec) co_return;
        const auto& request = parser.get();
        const std::string_view target = view(request.target());

        unsigned status = 200;
        std::optional<std::size_t> body_bytes;
        if (target.starts_with("/bytes")) {
            const std::size_t n = target.find("n=");
            body_bytes = n == target.npos ? 0 : number(target.substr(n + 2), 0);
        } else if (target.starts_with("/slow")) {
            const std::size_t ms = target.find("ms=");
            net::steady_timer timer(
                stream.get_executor(),
                std::chrono::milliseconds(ms == target.npos ? 0 : number(target.substr(ms + 3), 0)));
            co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
        } else if (target.starts_with("/status/")) {
            status = number(target.substr(8), 200);
        }

        http::response<http::string_body> response;
        response.version(request.version());
        response.result(status);
        response.keep_alive(request.keep_alive());
        // 1xx, 204 and 304 never have a body.
        const bool bodiless = status < 200 || status == 204 || status == 304;
        if (!bodiless) {
            response.set(http::field::content_type, "application/json");
            response.body() = body_bytes ? std::string(*body_bytes, 'x') : echo(request, connection);
        }
        response.prepare_payload();
        if (request.method() == http::verb::head) response.body().clear();
        co_await http::async_write(stream, response, net::redirect_error(net::use_awaitable, ec));
        if (ec || !request.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

net::awaitable<void> accept(tcp::acceptor& acceptor) {
    for (unsigned long long connection = 1;; ++connection) {
        tcp::socket socket = co_await acceptor.async_accept(net::use_awaitable);
        net::co_spawn(acceptor.get_executor(), serve(std::move(socket), connection), [](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::fprintf(stderr, "demo_upstream: connection: %s\n", ex.what());
            }
        });
    }
}

int usage() {
    std::fprintf(stderr, "usage: demo_upstream --listen HOST:PORT\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 || std::strcmp(argv[1], "--listen") != 0) return usage();
    const std::string_view listen = argv[2];
    const std::optional<sluice::ListenAddress> address = sluice::parse_host_port(listen, std::nullopt);
    if (!address) return usage();

    try {
        net::io_context ioc{1};
        const tcp::endpoint endpoint(net::ip::make_address(address->host), address->port);
        tcp::acceptor acceptor(ioc, endpoint);  // sets SO_REUSEADDR

        net::signal_set signals(ioc, SIGINT, SIGTERM);
        signals.async_wait([&](const beast::error_code&, int) { ioc.stop(); });
        net::co_spawn(ioc, accept(acceptor), net::detached);

        std::fprintf(stderr, "demo_upstream: listening on %.*s\n", static_cast<int>(listen.size()), listen.data());
        ioc.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "demo_upstream: %.*s: %s\n", static_cast<int>(listen.size()), listen.data(), e.what());
        return 1;
    }
    return 0;
}
