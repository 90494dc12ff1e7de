// A proxy connection's socket, with the executor types of the proxy's event
// loops. The proxy answers tens of thousands of requests a second per thread,
// so its path avoids what costs there: a type-erased executor on every
// operation (ProxyExecutor is io_context's own) and a timer armed and
// cancelled around every read and write (TimedSocket keeps one timer that
// rarely fires).
#pragma once

#include <utility>  // before awaitable.hpp, which uses std::exchange without it (Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

namespace sluice {

using ProxyExecutor = boost::asio::io_context::executor_type;
using ProxySocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, ProxyExecutor>;
template <class T>
using ProxyTask = boost::asio::awaitable<T, ProxyExecutor>;

// A proxy connection's socket with a deadline: once it passes, the socket is
// closed, so what waits on it fails and timed_out() says why. Setting the
// deadline costs a clock read; the one timer behind it is re-armed only when
// it fires early or a deadline comes sooner than the armed one.
class TimedSocket {
public:
    using executor_type = ProxyExecutor;

    explicit TimedSocket(ProxySocket socket);
    explicit TimedSocket(const ProxyExecutor& executor);
    TimedSocket(TimedSocket&&) noexcept = default;
    TimedSocket& operator=(TimedSocket&&) noexcept = default;
    ~TimedSocket();  // closes the socket

    executor_type get_executor() { return socket().get_executor(); }
    ProxySocket& socket() { return state_->socket; }

    void expires_after(std::chrono::steady_clock::duration timeout);
    void expires_never();
    bool timed_out() const { return state_->timed_out; }

    template <class Buffers, class Token>
    auto async_read_some(const Buffers& buffers, Token&& token) {
        return socket().async_read_some(buffers, std::forward<Token>(token));
    }
    template <class Buffers, class Token>
    auto async_write_some(const Buffers& buffers, Token&& token) {
        return socket().async_write_some(buffers, std::forward<Token>(token));
    }

    // Sends what the socket takes of `bytes` now (usually all of them: no
    // trip through the event loop, no coroutine frame); returns how many.
    std::size_t send_now(std::string_view bytes, boost::beast::error_code& ec);
    // Sends `rest` as the socket drains, for what send_now left, within the
    // deadline set.
    ProxyTask<boost::beast::error_code> send_rest(std::string_view rest);
    // The same for a reader that may be slow: the deadline moves
    // `stall_timeout` ahead whenever some bytes went out, so a client is cut
    // off when it stops reading, not when a large answer takes long.
    ProxyTask<boost::beast::error_code> send_rest_while_read(std::string_view rest,
                                                             std::chrono::steady_clock::duration stall_timeout);

private:
    struct State {
        explicit State(ProxySocket s) : socket(std::move(s)), timer(socket.get_executor()) {}
        explicit State(const ProxyExecutor& executor) : socket(executor), timer(executor) {}

        ProxySocket socket;
        boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                          boost::asio::wait_traits<std::chrono::steady_clock>, ProxyExecutor>
            timer;
        std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
        std::chrono::steady_clock::time_point armed_for;  // while the timer waits
        bool timer_waits = false;
        bool timed_out = false;
    };
    static void arm(const std::shared_ptr<State>& state);

    std::shared_ptr<State> state_;  // shared with the pending timer's handler
};

// Completion token for a proxy coroutine: the error goes into `ec` instead of
// an exception.
inline auto redirect(boost::beast::error_code& ec) {
    return boost::asio::redirect_error(boost::asio::use_awaitable_t<ProxyExecutor>{}, ec);
}

// Lets the event loop's other work run first. Right after sending to a peer
// its answer cannot be there yet: reading at once would find nothing and
// cost a syscall, reading after the other connections' work often finds it.
inline auto let_others_run() { return boost::asio::post(boost::asio::use_awaitable_t<ProxyExecutor>{}); }

}  // namespace sluice
