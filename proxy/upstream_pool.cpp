#include "proxy/upstream_pool.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>

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
    case http::verb::get:
    case http::verb::head:
    case http::verb::put:
    case http::verb::delete_:
    case http::verb::options:
    case http::verb::trace: return true;
    default: return false;
    }
}

// An idle connection the upstream has closed, or sent bytes on that nobody
// asked for (a late or second answer), shows as readable. Such bytes would be
// read as the answer to the next client's request, so every idle connection
// is checked before reuse (one non-blocking syscall) and a readable one is
// dropped.
bool idle_and_clean(ProxySocket& socket) {
    char byte;
    const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

std::string milliseconds(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

}  // namespace

std::vector<tcp::endpoint> resolve_upstream(const ListenAddress& upstream) {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    const auto results = resolver.resolve(upstream.host, std::to_string(upstream.port), ec);
    if (ec || results.empty()) {
        throw std::runtime_error("upstream " + host_port(upstream) +
                                 ": cannot resolve: " + (ec ? ec.message() : "no address"));
    }
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    return endpoints;
}

struct UpstreamPool::RoundTrip {
    beast::error_code ec;
    bool responded = false;  // some byte of a response arrived
    bool reusable = false;   // the upstream keeps the connection open
};

UpstreamPool::UpstreamPool(ProxyExecutor executor, std::vector<tcp::endpoint> endpoints, const ProxySettings& settings)
    : executor_(std::move(executor)),
      endpoints_(std::move(endpoints)),
      name_(host_port(settings.upstream)),
      max_idle_(settings.upstream_idle_connections),
      max_response_bytes_(settings.max_response_bytes),
      connect_timeout_(settings.upstream_connect_timeout),
      response_timeout_(settings.upstream_timeout) {}

ProxyTask<std::optional<UpstreamFailure>> UpstreamPool::exchange(std::string_view request, http::verb method,
                                                                 UpstreamResponse& response) {
    const bool head = method == http::verb::head;
    const bool retriable = idempotent(method);
    std::optional<Connection> connection;
    while (!connection && !idle_.empty()) {
        if (idle_and_clean(idle_.back().socket.socket())) connection.emplace(std::move(idle_.back()));
        idle_.pop_back();
    }
    const bool reused = connection.has_value();
    for (bool retried = false;; retried = true) {
        if (!connection) {
            connection.emplace(Connection{TimedSocket(executor_)});
            const beast::error_code ec = co_await connect(*connection);
            if (ec) co_return logged(connect_failure(ec));
        }
        const RoundTrip trip = co_await round_trip(*connection, request, head, response);
        if (!trip.ec) {
            if (trip.reusable) keep(std::move(*connection));
            co_return std::nullopt;
        }
        // The upstream may have closed an idle connection just as we reused
        // it: the request fails before any response byte. An idempotent one
        // is retried once on a fresh connection (a POST might have been acted
        // on, as nginx assumes too); a slow upstream is not retried.
        const bool stale = reused && !retried && !trip.responded && trip.ec != beast::error::timeout && retriable;
        if (!stale) co_return logged(exchange_failure(trip.ec));
        connection.reset();
    }
}

ProxyTask<beast::error_code> UpstreamPool::connect(Connection& connection) {
    beast::error_code ec;
    TimedSocket& socket = connection.socket;
    socket.expires_after(connect_timeout_);
    co_await net::async_connect(socket.socket(), endpoints_, redirect(ec));
    if (socket.timed_out()) co_return beast::error::timeout;
    if (!ec) socket.socket().set_option(tcp::no_delay(true), ec);
    co_return ec;
}

ProxyTask<UpstreamPool::RoundTrip> UpstreamPool::round_trip(Connection& connection, std::string_view request, bool head,
                                                            UpstreamResponse& response) {
    RoundTrip trip;
    TimedSocket& socket = connection.socket;
    socket.expires_after(response_timeout_);
    const std::size_t sent = socket.send_now(request, trip.ec);
    if (!trip.ec && sent < request.size()) trip.ec = co_await socket.send_rest(request.substr(sent));
    if (!trip.ec) co_await let_others_run();
    // Interim 1xx responses (e.g. 103 Early Hints) are skipped: the client
    // gets the final one.
    while (!trip.ec) {
        ResponseParser parser(response, max_response_bytes_);
        parser.header_limit(kUpstreamHeaderLimit);
        if (head) parser.skip(true);
        trip.ec = co_await read_message(socket, connection.buffer, parser);
        trip.responded = trip.responded || parser.got_some();
        if (trip.ec) break;
        if (http::to_status_class(response.status) == http::status_class::informational) continue;
        // Bytes after the response were never asked for: do not reuse.
        trip.reusable = parser.keep_alive() && connection.buffer.size() == 0;
        socket.expires_never();
        co_return trip;
    }
    if (socket.timed_out()) trip.ec = beast::error::timeout;
    co_return trip;
}

void UpstreamPool::keep(Connection&& connection) {
    if (idle_.size() >= max_idle_) return;
    if (connection.buffer.capacity() > kUpstreamKeptBytes) connection.buffer.shrink_to_fit();
    idle_.push_back(std::move(connection));
}

UpstreamFailure UpstreamPool::logged(UpstreamFailure failure) {
    failure_log_.log(LogLevel::warning, failure.message);
    return failure;
}

UpstreamFailure UpstreamPool::connect_failure(beast::error_code ec) const {
    if (ec == beast::error::timeout) {
        return {true, "upstream " + name_ + " did not accept a connection within " + milliseconds(connect_timeout_)};
    }
    return {false, "upstream " + name_ + " unavailable: " + ec.message()};
}

UpstreamFailure UpstreamPool::exchange_failure(beast::error_code ec) const {
    if (ec == beast::error::timeout) {
        return {true, "upstream " + name_ + " did not respond within " + milliseconds(response_timeout_)};
    }
    if (ec == http::error::body_limit) {
        return {false, "upstream " + name_ + " response exceeds " + std::to_string(max_response_bytes_) + " bytes"};
    }
    return {false, "upstream " + name_ + " failed: " + ec.message()};
}

}  // namespace sluice
