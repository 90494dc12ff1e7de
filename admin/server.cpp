#include "admin/server.h"

#include "http/accept_backoff.h"
#include "limit/quota_store.h"
#include "http/io.h"
#include "common/log.h"
#include "http/loop_heartbeat.h"

#include <utility>  // before awaitable.hpp, which uses std::exchange without it (Boost 1.74)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <optional>
#include <stdexcept>
#include <thread>

namespace sluice {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr std::chrono::seconds kRequestTimeout{10};  // to read one request once it has begun
constexpr std::chrono::seconds kIdleTimeout{30};     // for the next request on a kept-alive connection
// After an error answer, what the client may still send before the close
// (closing with unread input resets the connection, losing the answer).
constexpr std::chrono::seconds kDrainTimeout{2};
constexpr std::size_t kDrainBytes = 1024 * 1024;

using Response = http::response<http::string_body>;

std::string field(const http::fields& fields, beast::string_view name) {
    const auto it = fields.find(name);
    return it == fields.end() ? std::string() : std::string(it->value());
}

AdminRequest to_admin_request(http::request<http::string_body>&& request) {
    AdminRequest admin;
    admin.method = std::string(request.method_string());
    admin.target = std::string(request.target());
    admin.tokens.vault_token = field(request, "X-Vault-Token");
    admin.tokens.sluice_token = field(request, "X-Sluice-Token");
    admin.tokens.authorization = field(request, "Authorization");
    admin.body = std::move(request.body());
    return admin;
}

Response to_http(AdminResponse&& answer, unsigned version, bool keep_alive) {
    Response response{static_cast<http::status>(answer.status), version};
    if (!answer.content_type.empty()) response.set(http::field::content_type, answer.content_type);
    for (const auto& [name, value] : answer.headers) response.set(name, value);
    response.body() = std::move(answer.body);
    response.keep_alive(keep_alive);
    // A 204 carries no Content-Length (RFC 9110 section 8.6).
    if (response.result() != http::status::no_content) response.prepare_payload();
    return response;
}

// The answer to a request that could not be read; none when the client went
// away or was too slow.
std::optional<AdminResponse> unreadable_answer(const beast::error_code& ec, const RequestParser& parser) {
    if (ec.category() != request_error_category()) return std::nullopt;
    return admin_error(status_of(static_cast<RequestError>(ec.value())), parser.reason());
}

AdminResponse answer(AdminApi& api, const AdminRequest& request) {
    try {
        return api.handle(request);
    } catch (const StoreUnavailable& e) {  // Redis down: the usage or unblock may succeed later
        return admin_error(503, std::string("the quota store is unavailable: ") + e.what());
    } catch (const std::exception& e) {
        return admin_error(500, e.what());
    }
}

class Connection {
public:
    Connection(tcp::socket socket, AdminApi& api, const AdminSettings& settings)
        : stream_(std::move(socket)),
          api_(api),
          settings_(settings) {}

    net::awaitable<void> serve() {
        for (bool first = true;; first = false) {
            RequestParser parser(kMaxHeaderBytes, settings_.max_body_bytes);
            // The wait for a kept-alive client's next request included.
            stream_.expires_after(first ? kRequestTimeout : kIdleTimeout);
            const beast::error_code ec = co_await read_request(stream_, buffer_, parser);
            if (ec) {
                if (std::optional<AdminResponse> refusal = unreadable_answer(ec, parser)) {
                    if (co_await write(to_http(std::move(*refusal), 11, false)))
                        co_await close_gracefully(stream_, kDrainTimeout, kDrainBytes);
                }
                co_return;
            }
            http::request<http::string_body> request = parser.release();
            const unsigned version = request.version();
            const bool keep_alive = request.keep_alive();
            AdminResponse reply = answer(api_, to_admin_request(std::move(request)));
            if (!co_await write(to_http(std::move(reply), version, keep_alive)) || !keep_alive) break;
        }
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

private:
    net::awaitable<bool> write(Response response) {
        beast::error_code ec;
        stream_.expires_after(kRequestTimeout);
        co_await http::async_write(stream_, response, net::redirect_error(net::use_awaitable, ec));
        co_return !ec;
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    AdminApi& api_;
    const AdminSettings& settings_;
};

// Nothing escapes into the event loop: one connection's failure is its own.
net::awaitable<void> serve_connection(tcp::socket socket, AdminApi& api, const AdminSettings& settings) {
    try {
        Connection connection(std::move(socket), api, settings);
        co_await connection.serve();
    } catch (const std::exception& e) {
        log(LogLevel::warning, "admin connection: %s", e.what());
    }
}

net::awaitable<void> accept_loop(tcp::acceptor& acceptor, AdminApi& api, const AdminSettings& settings) {
    AcceptFailures failures("admin accept");
    for (;;) {
        beast::error_code ec;
        tcp::socket socket = co_await acceptor.async_accept(net::redirect_error(net::use_awaitable, ec));
        if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            co_await failures.pause(ec, acceptor.get_executor());
            continue;
        }
        net::co_spawn(acceptor.get_executor(), serve_connection(std::move(socket), api, settings), net::detached);
    }
}

}  // namespace

struct AdminServer::Loop {
    // Declared first, destroyed last: pending connections die with it.
    net::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    LoopHeartbeat heartbeat;
    std::thread thread;
};

bool AdminServer::heartbeat() { return !loop_ || loop_->heartbeat.beat(loop_->ioc); }

AdminServer::AdminServer(AdminSettings settings, AdminApi& api) : settings_(std::move(settings)), api_(api) {}

AdminServer::~AdminServer() { stop(); }

void AdminServer::start() {
    if (loop_) throw std::logic_error("AdminServer::start called twice");
    auto loop = std::make_unique<Loop>();
    const auto failed = [&](const std::string& reason) {
        return std::runtime_error("admin listen " + host_port(settings_.listen) + ": " + reason);
    };
    beast::error_code ec;
    const net::ip::address ip = net::ip::make_address(settings_.listen.host, ec);
    if (ec) throw failed("not an IP address");
    const tcp::endpoint endpoint(ip, settings_.listen.port);
    loop->acceptor.open(endpoint.protocol(), ec);
    if (!ec) loop->acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) loop->acceptor.bind(endpoint, ec);
    if (!ec) loop->acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw failed(ec.message());

    net::co_spawn(loop->ioc, accept_loop(loop->acceptor, api_, settings_), net::detached);
    loop->thread = std::thread([&ioc = loop->ioc] { ioc.run(); });
    loop_ = std::move(loop);
}

void AdminServer::stop() {
    if (!loop_) return;
    loop_->ioc.stop();
    if (loop_->thread.joinable()) loop_->thread.join();
    loop_.reset();
}

}  // namespace sluice
