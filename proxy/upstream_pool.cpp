#include "proxy/upstream_pool.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <optional>

#include <sys/socket.h>
#include <cerrno>
#include <stdexcept>
#include <utility>

namespace sluice {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

bool idempotent(http::verb method) {
    switch (method) {
    case http::verb::get: case http::verb::head: case http::verb::put: case http::verb::delete_:
    case http::verb::options: case http::verb::trace: return true;
    default: return false;
    }
}

// An idle connection the upstream has closed (or sent something unasked on)
// shows as readable; checking costs one non-blocking syscall and saves a
// failed request.
bool still_open(tcp::socket& socket) {
    char byte;
    const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// Upstream response headers are trusted more than a client's, but still bounded.
constexpr std::uint32_t upstream_header_limit = 64 * 1024;

std::string milliseconds(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

}  // namespace

std::vector<tcp::endpoint> resolve_upstream(const ListenAddress& upstream) {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    const auto results = resolver.resolve(upstream.host, std::to_string(upstream.port), ec);
    if (ec || results.empty()) {
        throw std::runtime_error("upstream " + host_port(upstream) + ": cannot resolve: " +
                                 (ec ? ec.message() : "no address"));
    }
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    return endpoints;
}

struct UpstreamPool::RoundTrip {
    beast::error_code ec;
    bool responded = false;  // some byte of a response arrived
    bool reusable = false;   // the upstream keeps the connection open
    UpstreamResponse response;
};

UpstreamPool::UpstreamPool(net::any_io_executor executor, std::vector<tcp::endpoint> endpoints,
                           const ProxySettings& settings)
    : executor_(std::move(executor)),
      endpoints_(std::move(endpoints)),
      name_(host_port(settings.upstream)),
      max_idle_(settings.upstream_idle_connections),
      max_response_bytes_(settings.max_response_bytes),
      connect_timeout_(settings.upstream_connect_timeout),
      response_timeout_(settings.upstream_timeout) {}

net::awaitable<UpstreamResult> UpstreamPool::exchange(const UpstreamRequest& request, bool head) {
    std::optional<beast::tcp_stream> stream;
    while (!stream && !idle_.empty()) {
        if (still_open(idle_.back().socket())) stream.emplace(std::move(idle_.back()));
        idle_.pop_back();
    }
    const bool reused = stream.has_value();
    for (bool retried = false;; retried = true) {
        if (!stream) {
            stream.emplace(executor_);
            const beast::error_code ec = co_await connect(*stream);
            if (ec) co_return connect_failure(ec);
        }
        RoundTrip trip = co_await round_trip(*stream, request, head);
        if (!trip.ec) {
            if (trip.reusable) keep(std::move(*stream));
            co_return UpstreamResult{std::move(trip.response)};
        }
        // The upstream may have closed an idle connection just as we reused
        // it: the request fails before any response byte. An idempotent one
        // is retried once on a fresh connection (a POST might have been acted
        // on, as nginx assumes too); a slow upstream is not retried.
        const bool stale = reused && !retried && !trip.responded && trip.ec != beast::error::timeout &&
                           idempotent(request.method());
        if (!stale) co_return exchange_failure(trip.ec);
        stream.reset();
    }
}

net::awaitable<beast::error_code> UpstreamPool::connect(beast::tcp_stream& stream) {
    beast::error_code ec;
    stream.expires_after(connect_timeout_);
    co_await stream.async_connect(endpoints_, net::redirect_error(net::use_awaitable, ec));
    if (!ec) stream.socket().set_option(tcp::no_delay(true), ec);
    co_return ec;
}

net::awaitable<UpstreamPool::RoundTrip> UpstreamPool::round_trip(beast::tcp_stream& stream,
                                                                 const UpstreamRequest& request,
                                                                 bool head) {
    RoundTrip trip;
    stream.expires_after(response_timeout_);
    co_await http::async_write(stream, request, net::redirect_error(net::use_awaitable, trip.ec));
    if (trip.ec) co_return trip;

    beast::flat_buffer buffer;
    // Interim 1xx responses (e.g. 103 Early Hints) are skipped: the client
    // gets the final one.
    for (;;) {
        http::response_parser<http::string_body> parser;
        parser.header_limit(upstream_header_limit);
        parser.body_limit(max_response_bytes_);
        if (head) parser.skip(true);
        co_await http::async_read(stream, buffer, parser,
                                  net::redirect_error(net::use_awaitable, trip.ec));
        trip.responded = trip.responded || parser.got_some();
        if (trip.ec) co_return trip;
        if (http::to_status_class(parser.get().result()) == http::status_class::informational) {
            continue;
        }
        // Bytes after the response were never asked for: do not reuse.
        trip.reusable = parser.keep_alive() && buffer.size() == 0;
        trip.response = parser.release();
        co_return trip;
    }
}

void UpstreamPool::keep(beast::tcp_stream&& stream) {
    if (idle_.size() >= max_idle_) return;
    stream.expires_never();
    idle_.push_back(std::move(stream));
}

UpstreamFailure UpstreamPool::connect_failure(beast::error_code ec) const {
    if (ec == beast::error::timeout) {
        return {true, "upstream " + name_ + " did not accept a connection within " +
                          milliseconds(connect_timeout_)};
    }
    return {false, "upstream " + name_ + " unavailable: " + ec.message()};
}

UpstreamFailure UpstreamPool::exchange_failure(beast::error_code ec) const {
    if (ec == beast::error::timeout) {
        return {true, "upstream " + name_ + " did not respond within " + milliseconds(response_timeout_)};
    }
    if (ec == http::error::body_limit) {
        return {false, "upstream " + name_ + " response exceeds " +
                           std::to_string(max_response_bytes_) + " bytes"};
    }
    return {false, "upstream " + name_ + " failed: " + ec.message()};
}

}  // namespace sluice
