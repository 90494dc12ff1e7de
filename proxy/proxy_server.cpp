#include "proxy/proxy_server.h"

#include "proxy/client_identity.h"
#include "proxy/http_io.h"
#include "proxy/quota_matcher.h"
#include "proxy/rate_limit_headers.h"
#include "proxy/upstream_pool.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <exception>
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

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// After an error answer, how long the client may go on sending before the
// connection is closed anyway (see close_gracefully).
constexpr std::chrono::seconds linger_timeout{2};
constexpr std::size_t linger_bytes = 1024 * 1024;
// Pause after a failed accept (e.g. out of file descriptors), so the loop does
// not spin while the condition lasts.
constexpr std::chrono::milliseconds accept_backoff{100};

constexpr beast::string_view x_forwarded_for = "X-Forwarded-For";

std::string_view view(beast::string_view s) { return {s.data(), s.size()}; }

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
void strip_hop_by_hop(http::fields& fields) {
    std::vector<std::string> listed;
    for (const auto& token : http::token_list{fields[http::field::connection]}) {
        listed.emplace_back(token.data(), token.size());
    }
    for (const auto& name : listed) fields.erase(name);
    for (const auto name : {http::field::connection, http::field::keep_alive, http::field::proxy_connection,
                            http::field::te, http::field::trailer, http::field::transfer_encoding,
                            http::field::upgrade}) {
        fields.erase(name);
    }
}

void set_fields(http::fields& fields, const HeaderFields& values) {
    for (const auto& [name, value] : values) fields.set(name, value);
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

Response json_response(unsigned status, std::string body) {
    Response response;
    response.result(status);
    response.set(http::field::content_type, "application/json");
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

// The one shape of every error the proxy itself answers.
Response json_error(http::status status, std::string_view error, std::string_view message) {
    return json_response(static_cast<unsigned>(status),
                         "{\"error\":" + json_quote(error) + ",\"message\":" + json_quote(message) + "}");
}

Response refusal_response(const Decision& decision) {
    Refusal refusal = make_refusal(decision);
    Response response = json_response(refusal.status, std::move(refusal.body));
    set_fields(response, refusal.headers);
    return response;
}

bool is_http_error(const beast::error_code& ec) {
    return ec.category() == make_error_code(http::error::bad_version).category();
}

// The answer to a request that could not be read; none when the client went
// away or was too slow (there is nobody left to answer).
std::optional<Response> unreadable_answer(const beast::error_code& ec, const ProxySettings& settings) {
    if (ec == http::error::header_limit) {
        return json_error(http::status::request_header_fields_too_large, "request_header_fields_too_large",
                          "request header exceeds " + std::to_string(settings.max_header_bytes) + " bytes");
    }
    if (ec == http::error::body_limit) {
        return json_error(http::status::payload_too_large, "payload_too_large",
                          "request body exceeds " + std::to_string(settings.max_body_bytes) + " bytes");
    }
    if (is_http_error(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message) {
        return json_error(http::status::bad_request, "bad_request", ec.message());
    }
    return std::nullopt;
}

// The limiter's view of a request's headers.
class FieldLookup final : public HeaderLookup {
public:
    explicit FieldLookup(const http::fields& fields) : fields_(fields) {}

    std::string_view get(std::string_view name) const override {
        const auto it = fields_.find(beast::string_view(name.data(), name.size()));
        return it == fields_.end() ? std::string_view{} : view(it->value());
    }

private:
    const http::fields& fields_;
};

auto log_exception(const char* what) {
    return [what](std::exception_ptr error) {
        if (!error) return;
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "sluiced: %s: %s\n", what, e.what());
        } catch (...) {
            std::fprintf(stderr, "sluiced: %s: unknown exception\n", what);
        }
    };
}

// One structured line per refused request, when the quota settings ask for
// it (Vault's enable_rate_limit_audit_logging). Never a token or key value.
void audit_refusal(const Decision& decision, std::string_view method, std::string_view path,
                   std::string_view client_ip) {
    std::string line = "sluiced: audit {\"event\":\"refused\",\"reason\":";
    if (decision.blocked_for > 0) {
        line += "\"blocked\",\"retry_after\":" + std::to_string(ceil_seconds(decision.blocked_for));
    } else {
        const QuotaOutcome& o = decision.outcomes[decision.refusing];
        line += "\"limited\",\"quota\":" + json_quote(o.quota->spec.name) +
                ",\"key\":" + json_quote(to_string(o.quota->spec.key.kind)) +
                ",\"retry_after\":" + std::to_string(ceil_seconds(o.retry_after));
    }
    line += ",\"client_ip\":" + json_quote(client_ip) + ",\"method\":" + json_quote(method) +
            ",\"path\":" + json_quote(path) + "}\n";
    std::fputs(line.c_str(), stderr);
}

// What every connection of one thread shares.
struct ThreadContext {
    const ProxySettings& settings;
    const Limiter& limiter;
    UpstreamPool& pool;
    ProxyStats& stats;
};

// One client connection: reads requests one after the other, answers each.
class Session {
public:
    Session(tcp::socket socket, const ThreadContext& context)
        : stream_(std::move(socket)), context_(context), settings_(context.settings) {}

    net::awaitable<void> run() {
        beast::error_code ec;
        const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
        if (ec) co_return;  // gone already
        peer_ = to_ip_address(remote.address());
        peer_text_ = peer_.to_string();
        peer_is_proxy_ = is_trusted_proxy(peer_, settings_.trusted_proxies);

        for (bool first = true;; first = false) {
            if (!first && !co_await next_request_arrives()) co_return;
            RequestParser parser;
            parser.header_limit(static_cast<std::uint32_t>(settings_.max_header_bytes));
            parser.body_limit(settings_.max_body_bytes);
            stream_.expires_after(settings_.client_timeout);
            ec = co_await read_request(stream_, buffer_, parser);
            if (ec) {
                co_await reject(ec);
                co_return;
            }
            if (!co_await serve(parser.get())) break;
        }
        co_await close_gracefully(stream_, linger_timeout, linger_bytes);
    }

private:
    // Waits, up to idle_timeout, for the first byte of the next request on a
    // kept-alive connection.
    net::awaitable<bool> next_request_arrives() {
        if (buffer_.size() > 0) co_return true;  // pipelined
        beast::error_code ec;
        stream_.expires_after(settings_.idle_timeout);
        const std::size_t n = co_await stream_.async_read_some(
            buffer_.prepare(4096), net::redirect_error(net::use_awaitable, ec));
        buffer_.commit(n);
        co_return !ec;
    }

    // Answers a request that could not be read, then closes.
    net::awaitable<void> reject(const beast::error_code& ec) {
        std::optional<Response> answer = unreadable_answer(ec, settings_);
        if (!answer) co_return;
        context_.stats.count(context_.stats.bad_requests);
        answer->keep_alive(false);
        if (co_await write(*answer)) co_await close_gracefully(stream_, linger_timeout, linger_bytes);
    }

    // Answers one request; false when the connection is to be closed.
    net::awaitable<bool> serve(Request& request) {
        const auto started = std::chrono::steady_clock::now();
        const bool keep_alive = request.keep_alive();
        const bool head = request.method() == http::verb::head;
        const unsigned version = request.version();
        const std::string forwarded_for = joined_values(request, x_forwarded_for);
        // The peer is fixed per connection: only a trusted proxy's requests
        // need X-Forwarded-For read.
        const std::string forwarded_client =
            peer_is_proxy_ ? resolve_client_ip(peer_, forwarded_for, settings_.trusted_proxies) : std::string();
        const std::string_view client_ip = peer_is_proxy_ ? std::string_view(forwarded_client) : peer_text_;
        const std::string path = normalize_path(view(request.target()));
        const FieldLookup headers(request);
        const Decision decision =
            context_.limiter.decide({view(request.method_string()), path, client_ip, &headers});

        ProxyStats& stats = context_.stats;
        Response response;
        if (decision.allowed) {
            stats.count(stats.forwarded);
            response = co_await forward(std::move(request), forwarded_for, head);
            set_fields(response, rate_limit_headers(decision));
        } else {
            stats.count(decision.blocked_for > 0 ? stats.blocked : stats.limited);
            if (decision.policy->settings().audit_logging)
                audit_refusal(decision, view(request.method_string()), path, client_ip);
            response = refusal_response(decision);
        }
        response.version(version);
        response.keep_alive(keep_alive);
        if (head) {
            response.body().clear();  // Content-Length stays: it describes what GET would get
        } else {
            response.prepare_payload();
        }
        const bool written = co_await write(response);
        stats.record_latency(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now() - started).count());
        co_return written && keep_alive;
    }

    // The upstream's answer to an allowed request, or a JSON 502/504.
    net::awaitable<Response> forward(Request&& request, const std::string& forwarded_for, bool head) {
        UpstreamRequest upstream = std::move(request);
        upstream.version(11);
        strip_hop_by_hop(upstream);
        upstream.erase(http::field::expect);  // answered here already; the body is complete
        upstream.set(x_forwarded_for,
                     forwarded_for.empty() ? peer_text_ : forwarded_for + ", " + peer_text_);
        if (upstream.find(http::field::host) == upstream.end()) {
            upstream.set(http::field::host, context_.pool.name());  // HTTP/1.0 clients may omit it
        }
        upstream.prepare_payload();

        UpstreamResult result = co_await context_.pool.exchange(upstream, head);
        if (const auto* failure = std::get_if<UpstreamFailure>(&result)) {
            context_.stats.count(failure->timed_out ? context_.stats.upstream_timeouts : context_.stats.upstream_failures);
            co_return failure->timed_out
                ? json_error(http::status::gateway_timeout, "gateway_timeout", failure->message)
                : json_error(http::status::bad_gateway, "bad_gateway", failure->message);
        }
        Response response = std::move(std::get<UpstreamResponse>(result));
        strip_hop_by_hop(response);
        co_return response;
    }

    net::awaitable<bool> write(Response& response) {
        beast::error_code ec;
        stream_.expires_after(settings_.client_timeout);
        co_await http::async_write(stream_, response, net::redirect_error(net::use_awaitable, ec));
        co_return !ec;
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    const ThreadContext& context_;
    const ProxySettings& settings_;
    IpAddress peer_;
    std::string peer_text_;
    bool peer_is_proxy_ = false;
};

net::awaitable<void> serve_connection(tcp::socket socket, const ThreadContext& context) {
    Session session(std::move(socket), context);
    co_await session.run();
}

net::awaitable<void> accept_connections(tcp::acceptor& acceptor, const ThreadContext& context) {
    for (;;) {
        beast::error_code ec;
        tcp::socket socket = co_await acceptor.async_accept(net::redirect_error(net::use_awaitable, ec));
        if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            std::fprintf(stderr, "sluiced: accept: %s\n", ec.message().c_str());
            net::steady_timer pause(acceptor.get_executor(), accept_backoff);
            co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        net::co_spawn(acceptor.get_executor(), serve_connection(std::move(socket), context),
                      log_exception("connection"));
    }
}

[[noreturn]] void listen_failed(const ListenAddress& address, const std::string& reason) {
    throw std::runtime_error("listen " + host_port(address) + ": " + reason);
}

// A bound (not yet listening) socket for `address`. With `shared`, other
// sockets of this process may bind the same address (SO_REUSEPORT) and the
// kernel spreads connections over them.
tcp::acceptor bind_socket(net::io_context& ioc, const ListenAddress& address, bool shared) {
    beast::error_code ec;
    const auto ip = net::ip::make_address(address.host, ec);
    if (ec) listen_failed(address, "not an IP address");
    const tcp::endpoint endpoint(ip, address.port);

    tcp::acceptor acceptor(ioc);
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
    Worker(const ProxySettings& settings, const Limiter& limiter, std::vector<tcp::endpoint> upstream)
        : pool(ioc.get_executor(), std::move(upstream), settings), context{settings, limiter, pool, stats} {}

    // Destroyed last: the connections' coroutines die with it, and they hold
    // references to the members below (but never touch them while dying).
    net::io_context ioc{1};
    ProxyStats stats;
    UpstreamPool pool;
    ThreadContext context;
    std::vector<tcp::acceptor> acceptors;
    std::thread thread;
};

ProxyServer::ProxyServer(ProxySettings settings, const Limiter& limiter)
    : settings_(std::move(settings)), limiter_(limiter) {}

ProxyServer::~ProxyServer() {
    stop();
    wait();
}

unsigned ProxyServer::threads() const {
    if (settings_.threads > 0) return settings_.threads;
    return std::max(1u, std::thread::hardware_concurrency());
}

void ProxyServer::start() {
    if (!workers_.empty()) throw std::logic_error("ProxyServer::start called twice");
    const std::vector<tcp::endpoint> upstream = resolve_upstream(settings_.upstream);

    // SO_REUSEPORT would also let another process of the same user share a
    // port unnoticed (an old sluiced still running): an exclusive trial bind
    // first turns a port in use into an error.
    for (const ListenAddress& address : settings_.listen) {
        net::io_context trial_context;
        bind_socket(trial_context, address, false);
    }

    try {
        for (unsigned i = 0; i < threads(); ++i) {
            auto worker = std::make_unique<Worker>(settings_, limiter_, upstream);
            for (const ListenAddress& address : settings_.listen) {
                tcp::acceptor acceptor = bind_socket(worker->ioc, address, true);
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
        for (tcp::acceptor& acceptor : worker->acceptors) {
            net::co_spawn(worker->ioc, accept_connections(acceptor, worker->context),
                          log_exception("accept loop"));
        }
        worker->thread = std::thread([&ioc = worker->ioc] {
            // A handler that throws must not end the thread's serving.
            for (;;) {
                try {
                    ioc.run();
                    return;
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "sluiced: event loop: %s\n", e.what());
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

void ProxyServer::stop() {
    for (auto& worker : workers_) worker->ioc.stop();
}

void ProxyServer::wait() {
    for (auto& worker : workers_) {
        if (worker->thread.joinable()) worker->thread.join();
    }
}

}  // namespace sluice
