#include "proxy/proxy_server.h"

#include "http/accept_backoff.h"
#include "limit/client_identity.h"
#include "proxy/connection_limits.h"
#include "proxy/cpu_budget.h"
#include "proxy/drain.h"
#include "http/io.h"
#include "http/wire.h"
#include "common/log.h"
#include "http/loop_heartbeat.h"
#include "http/timed_socket.h"
#include "limit/quota_matcher.h"
#include "proxy/rate_limit_headers.h"
#include "proxy/store_wait.h"
#include "proxy/upstream_pool.h"

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/container/small_vector.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <latch>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace sluice {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

using Acceptor = net::basic_socket_acceptor<tcp, ProxyExecutor>;

// After an error answer, how long the client may go on sending before the
// connection is closed anyway (see close_gracefully).
constexpr std::chrono::seconds linger_timeout{2};
constexpr std::size_t linger_bytes = 1024 * 1024;

constexpr beast::string_view x_forwarded_for = "X-Forwarded-For";

std::string_view view(beast::string_view s) { return {s.data(), s.size()}; }
beast::string_view beast_view(std::string_view s) { return {s.data(), s.size()}; }

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

// Every value of a header that may repeat, joined as one list.
std::string joined_values(const http::fields& fields, beast::string_view name) {
    std::string joined;
    for (auto [it, end] = fields.equal_range(name); it != end; ++it) {
        if (!joined.empty()) joined += ", ";
        joined.append(it->value().data(), it->value().size());
    }
    return joined;
}

// Headers that describe one connection, not the message: never passed on.
// Those that Connection names included.
class HopByHop {
public:
    explicit HopByHop(beast::string_view connection) {
        for (const auto& token : http::token_list{connection}) listed_.push_back(token);
    }

    bool contains(http::field name, beast::string_view name_text) const {
        switch (name) {
        case http::field::connection:
        case http::field::keep_alive:
        case http::field::proxy_connection:
        case http::field::te:
        case http::field::trailer:
        case http::field::transfer_encoding:
        case http::field::upgrade: return true;
        default: break;
        }
        for (const beast::string_view listed : listed_)
            if (beast::iequals(listed, name_text)) return true;
        return false;
    }

private:
    boost::container::small_vector<beast::string_view, 4> listed_;  // views into the Connection value
};

// What the client's request says about how to answer it.
struct Framing {
    unsigned version = 11;
    bool keep_alive = false;
    bool head = false;  // a HEAD request: the answer has no body
};

// Ends the head of an answer to the client: Connection, as its version
// needs it to keep (or not keep) the connection, and Content-Length.
void end_answer_head(std::string& out, const Framing& framing, std::optional<std::size_t> content_length) {
    if (framing.version >= 11 && !framing.keep_alive) append_field(out, http::field::connection, "close");
    if (framing.version < 11 && framing.keep_alive) append_field(out, http::field::connection, "keep-alive");
    if (content_length) append_content_length(out, *content_length);
    end_head(out);
}

// 1xx, 204 and 304 answers have no body.
bool may_have_body(unsigned status) { return status >= 200 && status != 204 && status != 304; }

// Whether `fields[i]` is overridden by a later field of the same name (set
// semantics: the last value given for a name is the one sent).
bool overridden(const HeaderFields& fields, std::size_t i) {
    for (std::size_t later = i + 1; later < fields.size(); ++later)
        if (beast::iequals(fields[later].first, fields[i].first)) return true;
    return false;
}

bool names(const HeaderFields& fields, beast::string_view name) {
    for (const auto& field : fields)
        if (beast::iequals(field.first, name)) return true;
    return false;
}

// An answer the proxy makes itself (a refusal or an error): a JSON body and
// `fields` (Retry-After, rate-limit fields, a quota's configured ones).
void append_json_answer(std::string& out, unsigned status, std::string_view body, const HeaderFields& fields,
                        const Framing& framing) {
    append_status_line(out, framing.version, status, view(http::obsolete_reason(static_cast<http::status>(status))));
    if (!names(fields, "Content-Type")) append_field(out, http::field::content_type, "application/json");
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const std::string& name = fields[i].first;
        // The framing fields are the proxy's to set.
        if (overridden(fields, i) || beast::iequals(name, "Content-Length") || beast::iequals(name, "Connection"))
            continue;
        append_field(out, name, fields[i].second);
    }
    const bool body_allowed = may_have_body(status);
    end_answer_head(out, framing, body_allowed ? std::optional(body.size()) : std::nullopt);
    if (body_allowed && !framing.head) out += body;
}

// The upstream's answer as the client gets it: its end-to-end fields, the
// rate-limit fields (in place of any of the same name), the body.
void append_forwarded_response(std::string& out, const UpstreamResponse& response, const HeaderFields& rate_limit,
                               const Framing& framing) {
    append_status_line(out, framing.version, response.status,
                       response.reason.empty() ? view(http::obsolete_reason(static_cast<http::status>(response.status)))
                                               : std::string_view(response.reason));
    // The body's length is the proxy's to state when it sends a body. A HEAD
    // or 304 answer's Content-Length describes what GET would get: kept.
    const bool with_body = may_have_body(response.status) && !framing.head;
    const HopByHop hop_by_hop(beast_view(response.value(http::field::connection)));
    for (const UpstreamResponse::Field& field : response.fields) {
        const std::string_view name = response.name(field);
        if (hop_by_hop.contains(field.name, beast_view(name)) || names(rate_limit, beast_view(name))) continue;
        if (field.name == http::field::content_length && with_body) continue;
        append_field(out, name, response.value(field));
    }
    for (const auto& [name, value] : rate_limit) append_field(out, name, value);
    end_answer_head(out, framing, with_body ? std::optional(response.body.size()) : std::nullopt);
    if (with_body) out += response.body;
}

// The request as the upstream gets it: HTTP/1.1, its end-to-end fields (the
// proxy answered Expect already), X-Forwarded-For with the peer appended,
// Host when an HTTP/1.0 client left it out, the body's length.
void append_upstream_request(std::string& out, const Request& request, std::string_view forwarded_for,
                             std::string_view peer, std::string_view default_host) {
    append_request_line(out, view(request.method_string()), view(request.target()));
    const HopByHop hop_by_hop(request[http::field::connection]);
    bool has_host = false;
    bool has_length = false;
    for (const auto& field : request) {
        if (hop_by_hop.contains(field.name(), field.name_string())) continue;
        switch (field.name()) {
        case http::field::expect: continue;
        case http::field::content_length: has_length = true; continue;
        case http::field::host: has_host = true; break;
        case http::field::unknown:
            if (beast::iequals(field.name_string(), x_forwarded_for)) continue;
            break;
        default: break;
        }
        append_field(out, view(field.name_string()), view(field.value()));
    }
    out += view(x_forwarded_for);
    out += ": ";
    if (!forwarded_for.empty()) {
        out += forwarded_for;
        out += ", ";
    }
    out += peer;
    out += "\r\n";
    if (!has_host) append_field(out, http::field::host, default_host);
    // As Beast's prepare_payload: a length for a body, and for methods that
    // expect one; an empty body's "Content-Length: 0" as the client sent it.
    const http::verb method = request.method();
    const bool body_expected = method == http::verb::post || method == http::verb::put || method == http::verb::options;
    if (!request.body().empty() || body_expected || has_length) append_content_length(out, request.body().size());
    end_head(out);
    out += request.body();
}

std::string json_quote(std::string_view text) {
    std::string quoted = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            quoted += '\\';
            quoted += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escape[7];
            std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
            quoted += escape;
        } else {
            quoted += c;
        }
    }
    return quoted + '"';
}

// The one shape of every error the proxy itself answers.
struct ErrorAnswer {
    http::status status;
    std::string body;
};

ErrorAnswer json_error(http::status status, std::string_view message) {
    // The error's name is its reason phrase in snake case: "bad_request".
    std::string error(view(http::obsolete_reason(status)));
    for (char& c : error) c = c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return {status, "{\"error\":" + json_quote(error) + ",\"message\":" + json_quote(message) + "}"};
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

auto log_exception(const char* what) {
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

// One structured line per refused request, when the quota settings ask for
// it (Vault's enable_rate_limit_audit_logging). Never a token or key value.
void audit_refusal(const Decision& decision, std::string_view method, std::string_view path,
                   std::string_view client_ip) {
    std::string line = "audit {\"event\":\"refused\",\"reason\":";
    if (decision.blocked_for > 0) {
        line += "\"blocked\",\"retry_after\":" + std::to_string(ceil_seconds(decision.blocked_for));
    } else {
        const QuotaOutcome& o = decision.outcomes[decision.refusing];
        line += "\"limited\",\"quota\":" + json_quote(o.quota->spec.name) +
                ",\"key\":" + json_quote(to_string(o.quota->spec.key.kind)) +
                ",\"retry_after\":" + std::to_string(ceil_seconds(o.retry_after));
    }
    line += ",\"client_ip\":" + json_quote(client_ip) + ",\"method\":" + json_quote(method) +
            ",\"path\":" + json_quote(path) + "}";
    log_line(LogLevel::info, line);
}

// What every connection of one thread shares.
// The trusted proxies as one thread holds them; a reload posts a new list
// to each thread, and its sessions look again when the generation moved.
struct TrustedProxies {
    std::vector<Cidr> cidrs;
    std::uint64_t generation = 0;
};

struct ThreadContext {
    const ProxySettings& settings;
    const Limiter& limiter;
    QuotaStoreHandle& store;
    UpstreamPool& pool;
    ProxyStats& stats;
    const TrustedProxies& trusted;
    ConnectionLimits& limits;
    Drain& drain;
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
        co_await close_gracefully(socket_, linger_timeout, linger_bytes);
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
        if (written) co_await close_gracefully(socket_, linger_timeout, linger_bytes);
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
        const std::string forwarded_for = joined_values(request, x_forwarded_for);
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

// `slot` holds the connection's place under the connection limits while it lives.
ProxyTask<void> serve_connection(ProxySocket socket, [[maybe_unused]] ConnectionLimits::Slot slot,
                                 const ThreadContext& context) {
    Session session(std::move(socket), context);
    co_await session.run();
}

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

// A bound (not yet listening) socket for `address`. With `shared`, other
// sockets of this process may bind the same address (SO_REUSEPORT) and the
// kernel spreads connections over them.
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

}  // namespace

struct ProxyServer::Worker {
    Worker(const ProxySettings& settings, const Limiter& limiter, const StoreHandleMaker& make_store,
           std::vector<tcp::endpoint> upstream, ConnectionLimits& limits)
        : store(make_store(ioc)),
          pool(ioc.get_executor(), std::move(upstream), settings),
          trusted{settings.trusted_proxies, 1},
          context{settings, limiter, *store, pool, stats, trusted, limits, drain} {}

    // Destroyed last: the connections' coroutines die with it, and they hold
    // references to the members below (but never touch them while dying).
    // Only this thread touches its sockets: the reactor needs no locks
    // (stop() from another thread still may, it goes through the scheduler).
    net::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    ProxyStats stats;
    Drain drain;
    std::shared_ptr<QuotaStoreHandle> store;  // this loop's
    UpstreamPool pool;
    TrustedProxies trusted;  // only this thread touches it
    ThreadContext context;
    std::vector<Acceptor> acceptors;
    LoopHeartbeat heartbeat;
    std::thread thread;
};

namespace {

// settings.threads, or one per CPU the process may use; logged with why.
unsigned choose_threads(const ProxySettings& settings) {
    const CpuBudget budget = settings.threads > 0
                                 ? CpuBudget{settings.threads, "threads: " + std::to_string(settings.threads)}
                                 : read_cpu_budget();
    log(LogLevel::info, "%u event loop%s (%s)", budget.cpus, budget.cpus == 1 ? "" : "s", budget.reason.c_str());
    return budget.cpus;
}

}  // namespace

ProxyServer::ProxyServer(ProxySettings settings, const Limiter& limiter, StoreHandleMaker make_store)
    : settings_(std::move(settings)),
      limiter_(limiter),
      make_store_(std::move(make_store)) {}

ProxyServer::~ProxyServer() {
    stop();
    wait();
}

unsigned ProxyServer::threads() const { return threads_; }

void ProxyServer::start() {
    if (!workers_.empty()) throw std::logic_error("ProxyServer::start called twice");
    const std::vector<tcp::endpoint> upstream = resolve_upstream(settings_.upstream);
    threads_ = choose_threads(settings_);
    std::string open_files;
    const std::uint64_t open_files_limit = raise_open_files_limit(open_files);
    const std::size_t max_connections =
        settings_.max_connections > 0
            ? settings_.max_connections
            : default_max_connections(open_files_limit, threads(), settings_.upstream_idle_connections);
    limits_ = std::make_unique<ConnectionLimits>(max_connections, settings_.max_connections_per_ip);
    if (blocks_ && settings_.per_ip_block_interval.count() > 0) {
        limits_->block_over_per_ip_cap(*blocks_, *clock_,
                                       std::chrono::nanoseconds(settings_.per_ip_block_interval).count());
    }
    log(LogLevel::info, "at most %zu client connections (%s), %zu per client", max_connections,
        settings_.max_connections > 0 ? "limits.max_connections" : open_files.c_str(),
        settings_.max_connections_per_ip);

    // SO_REUSEPORT would also let another process of the same user share a
    // port unnoticed (an old sluiced still running): an exclusive trial bind
    // first turns a port in use into an error.
    for (const ListenAddress& address : settings_.listen) {
        net::io_context trial_context;
        bind_socket(trial_context, address, false);
    }

    try {
        for (unsigned i = 0; i < threads(); ++i) {
            auto worker = std::make_unique<Worker>(settings_, limiter_, make_store_, upstream, *limits_);
            for (const ListenAddress& address : settings_.listen) {
                Acceptor acceptor = bind_socket(worker->ioc, address, true);
                beast::error_code ec;
                acceptor.listen(net::socket_base::max_listen_connections, ec);
                if (ec) listen_failed(address, ec.message());
                worker->acceptors.push_back(std::move(acceptor));
            }
            workers_.push_back(std::move(worker));
        }
    } catch (...) {
        workers_.clear();
        throw;
    }

    for (auto& worker : workers_) {
        for (Acceptor& acceptor : worker->acceptors) {
            net::co_spawn(worker->ioc, accept_connections(acceptor, worker->context), log_exception("accept loop"));
        }
        worker->thread = std::thread([&ioc = worker->ioc] {
            // A handler that throws must not end the thread's serving.
            for (;;) {
                try {
                    ioc.run();
                    return;
                } catch (const std::exception& e) {
                    log(LogLevel::error, "event loop: %s", e.what());
                }
            }
        });
    }
}

ProxyStatsSnapshot ProxyServer::stats() const {
    ProxyStatsSnapshot total;
    for (const auto& worker : workers_) worker->stats.add_to(total);
    return total;
}

bool ProxyServer::heartbeat() {
    bool answered = true;
    for (const auto& worker : workers_) answered = worker->heartbeat.beat(worker->ioc) && answered;
    return answered;
}

void ProxyServer::set_trusted_proxies(const std::vector<Cidr>& trusted_proxies) {
    for (auto& worker : workers_) {
        net::post(worker->ioc, [&trusted = worker->trusted, trusted_proxies] {
            trusted = {trusted_proxies, trusted.generation + 1};
        });
    }
}

void ProxyServer::set_block_listener(BlockListener& blocks, const Clock& clock) {
    blocks_ = &blocks;
    clock_ = &clock;
}

ConnectionCounts ProxyServer::connections() const { return limits_ ? limits_->counts() : ConnectionCounts{}; }

void ProxyServer::stop_accepting() {
    std::latch closed(static_cast<std::ptrdiff_t>(workers_.size()));
    for (auto& worker : workers_) {
        net::post(worker->ioc, [&worker = *worker, &closed] {
            beast::error_code ignored;
            for (Acceptor& acceptor : worker.acceptors) acceptor.close(ignored);
            worker.drain.start();
            closed.count_down();
        });
    }
    closed.wait();
}

std::size_t ProxyServer::wait_for_connections(std::chrono::milliseconds timeout) const {
    if (!limits_) return 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    constexpr std::chrono::milliseconds poll{10};
    while (limits_->open() > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(poll);
    return limits_->open();
}

void ProxyServer::stop() {
    for (auto& worker : workers_) worker->ioc.stop();
}

void ProxyServer::wait() {
    for (auto& worker : workers_) {
        if (worker->thread.joinable()) worker->thread.join();
    }
}

}  // namespace sluice
