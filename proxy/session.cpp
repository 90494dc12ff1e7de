#include "proxy/session.h"

#include "http/io.h"
#include "http/request_parser.h"
#include "http/wire.h"
#include "limit/client_identity.h"
#include "proxy/answers.h"
#include "proxy/audit.h"
#include "proxy/rate_limit_headers.h"
#include "proxy/store_wait.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// After an error answer, how long the client may go on sending before the
// connection is closed anyway (see close_gracefully).
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::size_t kLingerBytes = 1024 * 1024;

// Every value of a header that may repeat, joined as one list.
std::string joined_values(const http::fields& fields, beast::string_view name) {
    std::string joined;
    for (auto [it, end] = fields.equal_range(name); it != end; ++it) {
        if (!joined.empty()) joined += ", ";
        joined.append(it->value().data(), it->value().size());
    }
    return joined;
}

// The answer to a request that could not be read or was refused as it was
// read; none when the client went away or was too slow (nobody to answer).
std::optional<ErrorAnswer> unreadable_answer(const beast::error_code& ec, const RequestParser& parser) {
    if (ec.category() != request_error_category()) return std::nullopt;
    return json_error(static_cast<http::status>(status_of(static_cast<RequestError>(ec.value()))), parser.reason());
}

// The limiter's view of a request's headers.
class FieldLookup final : public HeaderLookup {
public:
    explicit FieldLookup(const http::fields& fields) : fields_(fields) {}

    std::string_view get(std::string_view name) const override {
        const auto it = fields_.find(beast_view(name));
        return it == fields_.end() ? std::string_view{} : view(it->value());
    }

    bool repeated(std::string_view name) const override { return fields_.count(beast_view(name)) > 1; }

private:
    const http::fields& fields_;
};

// One client connection: reads requests one after the other, answers each.
class Session {
public:
    Session(ProxySocket socket, const ThreadContext& context)
        : socket_(std::move(socket)),
          store_wait_(socket_.get_executor()),
          context_(context),
          settings_(context.settings) {}

    ProxyTask<void> run() {
        beast::error_code ec;
        const tcp::endpoint remote = socket_.socket().remote_endpoint(ec);
        if (ec) co_return;  // gone already
        peer_ = to_ip_address(remote.address());
        peer_text_ = peer_.to_string();

        for (bool first = true;; first = false) {
            if (!first && !co_await next_request_arrives()) co_return;
            RequestParser parser(settings_.max_header_bytes, settings_.max_body_bytes);
            socket_.expires_after(settings_.client_timeout);
            ec = co_await read_request(socket_, buffer_, parser);
            if (ec) {
                co_await reject(unreadable_answer(ec, parser), Framing{});
                co_return;
            }
            socket_.expires_never();  // while the upstream answers
            if (!co_await serve(parser.get())) break;
        }
        co_await close_gracefully(socket_, kLingerTimeout, kLingerBytes);
    }

private:
    // Waits, up to idle_timeout, for the first byte of the next request on a
    // kept-alive connection. A graceful stop ends the wait at once (a new
    // connection is not idle: its client is about to send its request).
    ProxyTask<bool> next_request_arrives() {
        if (buffer_.size() > 0) co_return true;  // pipelined
        co_await let_others_run();
        if (context_.drain.draining()) co_return false;
        const Drain::IdleWait idle(context_.drain, socket_.socket());  // a stop closes it at once
        beast::error_code ec;
        socket_.expires_after(settings_.idle_timeout);
        const std::size_t n = co_await socket_.async_read_some(buffer_.prepare(4096), redirect(ec));
        buffer_.commit(n);
        co_return !ec;
    }

    // Answers a request that could not be read or is refused as a bad one,
    // then closes.
    ProxyTask<void> reject(std::optional<ErrorAnswer> answer, Framing framing) {
        if (!answer) co_return;
        // Not in one condition: GCC 12 miscompiles a co_await behind &&.
        const bool written = co_await answer_bad_request(*answer, framing);
        if (written) co_await close_gracefully(socket_, kLingerTimeout, kLingerBytes);
    }

    // Writes the answer to a bad request (the connection is to be closed
    // after it); false when that failed.
    ProxyTask<bool> answer_bad_request(const ErrorAnswer& answer, const Framing& framing) {
        context_.stats.count(context_.stats.bad_requests);
        out_.clear();
        append_json_answer(out_, static_cast<unsigned>(answer.status), answer.body, {},
                           {framing.version, false, framing.head});
        co_return co_await write();
    }

    // Answers one request; false when the connection is to be closed.
    ProxyTask<bool> serve(const Request& request) {
        const auto started = std::chrono::steady_clock::now();
        // Draining: this answer is the connection's last (forward checks again).
        Framing framing{request.version(), request.keep_alive() && !context_.drain.draining(),
                        request.method() == http::verb::head};
        const std::string forwarded_for = joined_values(request, beast_view(kXForwardedFor));
        // The peer is fixed per connection, the trusted list per reload: only
        // a trusted proxy's requests need X-Forwarded-For read.
        const TrustedProxies& trusted = context_.trusted;
        if (trusted_generation_ != trusted.generation) {
            peer_is_proxy_ = is_trusted_proxy(peer_, trusted.cidrs);
            trusted_generation_ = trusted.generation;
        }
        const std::string forwarded_client =
            peer_is_proxy_ ? resolve_client_ip(peer_, forwarded_for, trusted.cidrs) : std::string();
        const std::string_view client_ip = peer_is_proxy_ ? std::string_view(forwarded_client) : peer_text_;
        const FieldLookup headers(request);
        Decision decision = context_.limiter.prepare(
            {view(request.method_string()), view(request.target()), client_ip, &headers}, store_call_);
        if (!store_call_.checks.empty()) {
            std::optional<StoreReply> reply = store_call_.ask(context_.store, store_wait_);
            if (!reply) reply = co_await store_wait_.reply();
            context_.limiter.finish(decision, store_call_, *reply);
        }
        if (!decision.ambiguous_header.empty()) {
            co_await answer_bad_request(
                json_error(http::status::bad_request,
                           "more than one " + std::string(decision.ambiguous_header) + " header field"),
                framing);
            co_return false;
        }

        ProxyStats& stats = context_.stats;
        out_.clear();
        if (decision.allowed) {
            stats.count(stats.forwarded);
            if (decision.store_unavailable) stats.count(stats.unavailable_forwarded);
            co_await forward(request, forwarded_for, decision, framing);
        } else {
            stats.count(decision.store_unavailable ? stats.unavailable_refused
                        : decision.blocked_for > 0 ? stats.blocked
                                                   : stats.limited);
            if (decision.policy->settings().audit_logging)
                audit_refusal(decision, view(request.method_string()), decision.path, client_ip);
            const Refusal refusal = make_refusal(decision);
            append_json_answer(out_, refusal.status, refusal.body, refusal.headers, framing);
        }
        const bool written = co_await write();
        stats.record_latency(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count());
        co_return written&& framing.keep_alive;
    }

    // Puts into out_ the upstream's answer to an allowed request, or a JSON
    // 502/504. out_ holds the request sent upstream until then.
    ProxyTask<void> forward(const Request& request, const std::string& forwarded_for, const Decision& decision,
                            Framing& framing) {
        append_upstream_request(out_, request, forwarded_for, peer_text_, context_.pool.name());
        const std::optional<UpstreamFailure> failure =
            co_await context_.pool.exchange(out_, request.method(), response_);
        if (context_.drain.draining()) framing.keep_alive = false;  // a stop began meanwhile: the last answer
        out_.clear();
        const HeaderFields rate_limit = rate_limit_headers(decision);
        if (failure) {
            ProxyStats& stats = context_.stats;
            stats.count(failure->timed_out ? stats.upstream_timeouts : stats.upstream_failures);
            // The failure's details (the upstream's address) are in the log.
            const ErrorAnswer error =
                failure->timed_out ? json_error(http::status::gateway_timeout, "the upstream did not respond in time")
                                   : json_error(http::status::bad_gateway,
                                                "the upstream could not be reached or gave no valid response");
            append_json_answer(out_, static_cast<unsigned>(error.status), error.body, rate_limit, framing);
            co_return;
        }
        append_forwarded_response(out_, response_, rate_limit, framing);
    }

    // Sends out_ to the client; false when that failed.
    ProxyTask<bool> write() {
        beast::error_code ec;
        const std::size_t sent = socket_.send_now(out_, ec);
        if (!ec && sent < out_.size()) {
            // Only a send that has to wait needs a deadline; send_now rarely leaves any.
            ec = co_await socket_.send_rest_while_read(std::string_view(out_).substr(sent), settings_.client_timeout);
        }
        co_return !ec;
    }

    TimedSocket socket_;
    beast::flat_buffer buffer_;
    std::string out_;            // the message being sent (upstream, then to the client); its memory is reused
    UpstreamResponse response_;  // the upstream's latest answer; its memory is reused
    StoreCall store_call_;       // the current request's checks; its memory is reused
    StoreWait store_wait_;
    const ThreadContext& context_;
    const ProxySettings& settings_;
    IpAddress peer_;
    std::string peer_text_;
    bool peer_is_proxy_ = false;
    std::uint64_t trusted_generation_ = 0;  // of the list peer_is_proxy_ was judged by; 0: none yet
};

}  // namespace

ProxyTask<void> serve_connection(ProxySocket socket, [[maybe_unused]] ConnectionLimits::Slot slot,
                                 const ThreadContext& context) {
    Session session(std::move(socket), context);
    co_await session.run();
}

IpAddress to_ip_address(const net::ip::address& address) {
    IpAddress ip;
    if (address.is_v4()) {
        const auto v4 = address.to_v4().to_bytes();
        ip.bytes[10] = ip.bytes[11] = 0xff;
        std::copy(v4.begin(), v4.end(), ip.bytes.begin() + 12);
    } else {
        ip.bytes = address.to_v6().to_bytes();
    }
    return ip;
}

}  // namespace sluice
