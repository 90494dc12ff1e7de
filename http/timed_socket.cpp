#include "http/timed_socket.h"

#include <boost/asio/write.hpp>

namespace sluice {

namespace net = boost::asio;
namespace beast = boost::beast;

using Clock = std::chrono::steady_clock;

TimedSocket::TimedSocket(ProxySocket socket) : state_(std::make_shared<State>(std::move(socket))) {}

TimedSocket::TimedSocket(const ProxyExecutor& executor) : state_(std::make_shared<State>(executor)) {}

TimedSocket::~TimedSocket() {
    if (!state_) return;  // moved from
    beast::error_code ignored;
    state_->socket.close(ignored);
    state_->timer.cancel();  // its handler, holding the state, ends soon
}

void TimedSocket::expires_after(Clock::duration timeout) {
    state_->deadline = Clock::now() + timeout;
    // A later deadline than the armed one is seen when the timer fires.
    if (!state_->timer_waits || state_->deadline < state_->armed_for) arm(state_);
}

void TimedSocket::expires_never() { state_->deadline = Clock::time_point::max(); }

void TimedSocket::arm(const std::shared_ptr<State>& state) {
    state->armed_for = state->deadline;
    state->timer.expires_at(state->deadline);  // cancels a pending wait: its handler sees operation_aborted
    state->timer_waits = true;
    state->timer.async_wait([state](const beast::error_code& ec) {
        if (ec == net::error::operation_aborted) return;  // re-armed or destroyed
        state->timer_waits = false;
        if (state->deadline == Clock::time_point::max() || !state->socket.is_open()) return;
        if (Clock::now() < state->deadline) {
            arm(state);
            return;
        }
        state->timed_out = true;
        beast::error_code ignored;
        state->socket.close(ignored);
    });
}

namespace {

bool would_block(const beast::error_code& ec) { return ec == net::error::would_block || ec == net::error::try_again; }

// The socket's own operations return would_block instead of waiting.
void make_non_blocking(ProxySocket& socket, beast::error_code& ec) {
    if (!socket.non_blocking()) socket.non_blocking(true, ec);
}

}  // namespace

std::size_t TimedSocket::send_now(std::string_view bytes, beast::error_code& ec) {
    ProxySocket& s = socket();
    ec = {};
    make_non_blocking(s, ec);
    const std::size_t sent = ec ? 0 : s.write_some(net::buffer(bytes.data(), bytes.size()), ec);
    if (would_block(ec)) ec = {};
    return sent;
}

ProxyTask<beast::error_code> TimedSocket::send_rest(std::string_view rest) {
    beast::error_code ec;
    co_await net::async_write(socket(), net::buffer(rest.data(), rest.size()), redirect(ec));
    co_return ec;
}

ProxyTask<beast::error_code> TimedSocket::send_rest_while_read(std::string_view rest, Clock::duration stall_timeout) {
    beast::error_code ec;
    while (!rest.empty() && !ec) {
        expires_after(stall_timeout);
        const std::size_t n = co_await socket().async_write_some(net::buffer(rest.data(), rest.size()), redirect(ec));
        rest.remove_prefix(n);
    }
    co_return ec;
}

}  // namespace sluice
