#include "proxy/proxy_server.h"

#include "common/log.h"
#include "http/loop_heartbeat.h"
#include "proxy/connection_limits.h"
#include "proxy/cpu_budget.h"
#include "proxy/drain.h"
#include "proxy/listeners.h"
#include "proxy/session.h"
#include "proxy/upstream_pool.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace sluice {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

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
