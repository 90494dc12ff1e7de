// A small synchronous HTTP/1.1 client for sluiced's admin API: one
// connection kept alive across the requests of a command, the token in
// X-Vault-Token, and a timeout on every step.
#pragma once

#include "sluicectl/connection_settings.h"

#include <utility>  // before awaitable.hpp, which uses std::exchange without it (Boost 1.74)

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::ctl {

struct AdminResponse {
    unsigned status = 0;
    std::string body;
};

class AdminClient {
public:
    explicit AdminClient(ConnectionSettings settings, std::chrono::seconds timeout = std::chrono::seconds(10));

    // Throws Failure(unreachable) when it cannot connect, or the server does
    // not answer in time. Any answer, errors included, is returned.
    AdminResponse request(std::string_view method, const std::string& target, const std::string& json_body = {});

    const ConnectionSettings& settings() const { return settings_; }

private:
    template <class Start>
    boost::beast::error_code run(Start start);
    void connect();
    [[noreturn]] void fail(const std::string& what, boost::beast::error_code ec, std::string_view hint = {}) const;

    ConnectionSettings settings_;
    std::chrono::seconds timeout_;
    boost::asio::io_context ioc_;
    std::optional<boost::beast::tcp_stream> stream_;
    boost::beast::flat_buffer buffer_;
};

// `text` for a URL path segment or query value: everything but the
// unreserved characters (RFC 3986), ':' and '@' as %XX. ':' stays so that an
// IPv6 address goes as it is.
std::string percent_encode(std::string_view text);

}  // namespace sluice::ctl
