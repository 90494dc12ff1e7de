// The proxy's listening sockets: one per listen address on every event loop
// (SO_REUSEPORT), and the accept loop that admits each connection under the
// connection limits and starts its session.
#pragma once

#include "http/host_port.h"
#include "http/timed_socket.h"
#include "proxy/session.h"

#include <boost/asio/io_context.hpp>

#include <exception>
#include <functional>
#include <string>

namespace sluice {

using Acceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, ProxyExecutor>;

// Throws std::runtime_error "listen HOST:PORT: <reason>".
[[noreturn]] void listen_failed(const ListenAddress& address, const std::string& reason);

// A bound (not yet listening) socket for `address`. With `shared`, other
// sockets of this process may bind the same address (SO_REUSEPORT) and the
// kernel spreads connections over them.
Acceptor bind_socket(boost::asio::io_context& ioc, const ListenAddress& address, bool shared);

// Accepts until the acceptor is closed.
ProxyTask<void> accept_connections(Acceptor& acceptor, const ThreadContext& context);

// A co_spawn completion that logs what ended a coroutine with an exception.
std::function<void(std::exception_ptr)> log_exception(const char* what);

}  // namespace sluice
