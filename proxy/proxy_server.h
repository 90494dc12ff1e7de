// The HTTP data path: accepts clients on every listen address, asks the
// limiter about each request, answers refused ones itself and forwards the
// others to the upstream.
//
// It runs `threads` event loops. Each has its own SO_REUSEPORT acceptor per
// listen address, its own client connections and its own upstream pool, so
// the threads share nothing but the limiter (and a store that is shared,
// like the local one).
#pragma once

#include "proxy/connection_limits.h"
#include "limit/limiter.h"
#include "proxy/settings.h"
#include "proxy/stats.h"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace sluice {

// Gives each event loop its own handle to the quota store, made on start()
// and released with the loop. A store shared by every loop (the local one)
// gives itself.
using StoreHandleMaker = std::function<std::shared_ptr<QuotaStoreHandle>(boost::asio::io_context&)>;

class ProxyServer {
public:
    ProxyServer(ProxySettings settings, const Limiter& limiter, StoreHandleMaker make_store);
    ~ProxyServer();  // stop() and wait()

    ProxyServer(const ProxyServer&) = delete;
    ProxyServer& operator=(const ProxyServer&) = delete;

    // Resolves the upstream, binds every listen address on every thread and
    // starts the threads; returns once they serve. Raises the open files
    // limit to its hard limit and logs the connection cap. Throws std::runtime_error
    // naming what failed, e.g. "listen 127.0.0.1:8080: Address already in use".
    void start();

    // Client addresses whose X-Forwarded-For is believed from now on (a
    // reload); each thread takes the list before its next request.
    void set_trusted_proxies(const std::vector<Cidr>& trusted_proxies);

    // Where limits.per_ip_block_interval blocks a client over
    // limits.max_connections_per_ip (the block list); before start().
    void set_block_listener(BlockListener& blocks, const Clock& clock);

    // The graceful stop's first half: returns once every listener is closed
    // (new connections are refused). Idle keep-alive connections close at
    // once; those serving a request close after its answer, which says
    // Connection: close.
    void stop_accepting();
    // Then: waits until every client connection has ended or `timeout`
    // passed; returns how many were still open.
    std::size_t wait_for_connections(std::chrono::milliseconds timeout) const;

    // Stops the event loops, dropping open connections. Safe from any thread;
    // no-op when not started or already stopped.
    void stop();

    // Blocks until every thread has finished (after stop()).
    void wait();

    // From start() on: settings.threads, or one per CPU the process may use
    // (cpu_budget.h).
    unsigned threads() const;

    // Summed over the threads; safe from any thread while serving.
    ProxyStatsSnapshot stats() const;
    ConnectionCounts connections() const;

    // For a watchdog, called periodically from one thread: true when every
    // event loop has run the heartbeat the previous call posted (true on the
    // first call); posts the next. A loop stuck in a handler stops answering.
    bool heartbeat();

private:
    struct Worker;

    ProxySettings settings_;
    const Limiter& limiter_;
    StoreHandleMaker make_store_;
    unsigned threads_ = 0;                      // set by start()
    std::unique_ptr<ConnectionLimits> limits_;  // outlives the workers: their connections hold slots
    BlockListener* blocks_ = nullptr;
    const Clock* clock_ = nullptr;  // blocks_'s
    std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace sluice
