// Keep-alive connections to the upstream, for one event loop. Not
// thread-safe on purpose: every ProxyServer thread owns its own pool, so the
// request path takes no lock.
#pragma once

#include "http/io.h"
#include "common/log.h"
#include "http/timed_socket.h"
#include "proxy/settings.h"
#include "proxy/upstream_response.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Why the upstream gave no usable response; the message names the upstream,
// so it goes to the log (the pool writes it there), never to the client.
struct UpstreamFailure {
    bool timed_out = false;  // 504 rather than 502
    std::string message;
};

// Resolves the upstream once, at start; throws std::runtime_error naming it.
std::vector<boost::asio::ip::tcp::endpoint> resolve_upstream(const ListenAddress& upstream);

class UpstreamPool {
public:
    UpstreamPool(ProxyExecutor executor, std::vector<boost::asio::ip::tcp::endpoint> endpoints,
                 const ProxySettings& settings);

    // Sends `request` (a whole serialized HTTP/1.1 request; `method` is its
    // method) and reads the answer into `response` (to a HEAD request: no
    // body); nullopt when that worked. Uses an
    // idle connection when there is one and keeps the connection afterwards
    // if the upstream allows it.
    ProxyTask<std::optional<UpstreamFailure>> exchange(std::string_view request, boost::beast::http::verb method,
                                                       UpstreamResponse& response);

    const std::string& name() const { return name_; }  // "host:port"

private:
    // What a connection may hold unparsed: a header (64 KiB at most), one
    // chunk line or the trailer section, each of which Beast's parser needs
    // whole. A longer one fails the exchange instead of growing memory.
    static constexpr std::size_t kMaxUnparsed = 128 * 1024;
    struct Connection {
        TimedSocket socket;
        boost::beast::flat_buffer buffer{kMaxUnparsed};  // kept, so its memory is reused
    };
    struct RoundTrip;

    ProxyTask<boost::beast::error_code> connect(Connection& connection);
    ProxyTask<RoundTrip> round_trip(Connection& connection, std::string_view request, bool head,
                                    UpstreamResponse& response);
    void keep(Connection&& connection);
    UpstreamFailure connect_failure(boost::beast::error_code ec) const;
    UpstreamFailure exchange_failure(boost::beast::error_code ec) const;
    UpstreamFailure logged(UpstreamFailure failure);

    ProxyExecutor executor_;
    std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
    std::string name_;
    std::size_t max_idle_;
    std::size_t max_response_bytes_;
    std::chrono::milliseconds connect_timeout_;
    std::chrono::milliseconds response_timeout_;
    std::vector<Connection> idle_;  // most recently used last
    LogThrottle failure_log_{std::chrono::seconds(1)};
};

}  // namespace sluice
