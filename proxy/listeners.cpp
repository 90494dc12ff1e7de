#include "proxy/listeners.h"

#include "common/log.h"
#include "http/accept_backoff.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/beast/core/error.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <optional>
#include <stdexcept>

namespace sluice {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

// A place for a new connection under the connection limits; refused (and
// counted) when its client or the total is at its cap.
std::optional<ConnectionLimits::Slot> admit(ProxySocket& socket, const ThreadContext& context) {
    beast::error_code ec;
    const tcp::endpoint remote = socket.remote_endpoint(ec);
    if (ec) return std::nullopt;  // gone already
    ConnectionLimits::Slot slot;
    if (context.limits.admit(to_ip_address(remote.address()), slot, context.trusted.cidrs) !=
        ConnectionLimits::Refusal::none)
        return std::nullopt;
    return slot;
}

}  // namespace

ProxyTask<void> accept_connections(Acceptor& acceptor, const ThreadContext& context) {
    AcceptFailures failures("accept");
    for (;;) {
        beast::error_code ec;
        ProxySocket socket = co_await acceptor.async_accept(redirect(ec));
        if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            co_await failures.pause(ec, acceptor.get_executor());
            continue;
        }
        std::optional<ConnectionLimits::Slot> slot = admit(socket, context);
        // Over a cap the connection is closed before anything is read: no
        // request to count, no answer the client may not be reading.
        if (!slot) continue;
        socket.set_option(tcp::no_delay(true), ec);
        net::co_spawn(acceptor.get_executor(), serve_connection(std::move(socket), std::move(*slot), context),
                      log_exception("connection"));
    }
}

[[noreturn]] void listen_failed(const ListenAddress& address, const std::string& reason) {
    throw std::runtime_error("listen " + host_port(address) + ": " + reason);
}

Acceptor bind_socket(net::io_context& ioc, const ListenAddress& address, bool shared) {
    beast::error_code ec;
    const auto ip = net::ip::make_address(address.host, ec);
    if (ec) listen_failed(address, "not an IP address");
    const tcp::endpoint endpoint(ip, address.port);

    Acceptor acceptor(ioc.get_executor());
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    // "[::]" and "0.0.0.0" are two listen entries, not one dual-stack socket.
    if (!ec && ip.is_v6()) acceptor.set_option(net::ip::v6_only(true), ec);
    if (!ec && shared) {
        const int on = 1;
        if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
            ec.assign(errno, beast::system_category());
        }
    }
    if (!ec) acceptor.bind(endpoint, ec);
    if (ec) listen_failed(address, ec.message());
    return acceptor;
}

std::function<void(std::exception_ptr)> log_exception(const char* what) {
    return [what](std::exception_ptr error) {
        if (!error) return;
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            log(LogLevel::error, "%s: %s", what, e.what());
        } catch (...) {
            log(LogLevel::error, "%s: unknown exception", what);
        }
    };
}

}  // namespace sluice
