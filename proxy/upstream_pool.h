// Keep-alive connections to the upstream, for one event loop. Not
// thread-safe on purpose: every ProxyServer thread owns its own pool, so the
// request path takes no lock.
#pragma once

#include "proxy/proxy_settings.h"

#include <utility>  // before awaitable.hpp, which uses std::exchange without it (Boost 1.74)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <variant>
#include <vector>

namespace sluice {

using UpstreamRequest = boost::beast::http::request<boost::beast::http::string_body>;
using UpstreamResponse = boost::beast::http::response<boost::beast::http::string_body>;

// Why the upstream gave no usable response; the message names the upstream.
struct UpstreamFailure {
    bool timed_out = false;  // 504 rather than 502
    std::string message;
};

using UpstreamResult = std::variant<UpstreamResponse, UpstreamFailure>;

// Resolves the upstream once, at start; throws std::runtime_error naming it.
std::vector<boost::asio::ip::tcp::endpoint> resolve_upstream(const ListenAddress& upstream);

class UpstreamPool {
public:
    UpstreamPool(boost::asio::any_io_executor executor,
                 std::vector<boost::asio::ip::tcp::endpoint> endpoints,
                 const ProxySettings& settings);

    // Sends `request` and reads the response (`head`: the answer to a HEAD
    // request, which has no body). Uses an idle connection when there is one
    // and keeps the connection afterwards if the upstream allows it.
    boost::asio::awaitable<UpstreamResult> exchange(const UpstreamRequest& request, bool head);

    const std::string& name() const { return name_; }  // "host:port"

private:
    struct RoundTrip;

    boost::asio::awaitable<boost::beast::error_code> connect(boost::beast::tcp_stream& stream);
    boost::asio::awaitable<RoundTrip> round_trip(boost::beast::tcp_stream& stream,
                                                 const UpstreamRequest& request, bool head);
    void keep(boost::beast::tcp_stream&& stream);
    UpstreamFailure connect_failure(boost::beast::error_code ec) const;
    UpstreamFailure exchange_failure(boost::beast::error_code ec) const;

    boost::asio::any_io_executor executor_;
    std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
    std::string name_;
    std::size_t max_idle_;
    std::size_t max_response_bytes_;
    std::chrono::milliseconds connect_timeout_;
    std::chrono::milliseconds response_timeout_;
    std::vector<boost::beast::tcp_stream> idle_;  // most recently used last
};

}  // namespace sluice
