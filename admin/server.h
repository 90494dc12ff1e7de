// The admin API's HTTP/1.1 listener: one thread with its own event loop,
// keep-alive connections, bounded request headers and bodies, and a timeout
// on every read. Each request is answered by AdminApi, on this thread.
#pragma once

#include "admin/api.h"
#include "config/config.h"

#include <memory>

namespace sluice {

class AdminServer {
public:
    // `api` must outlive the server.
    AdminServer(AdminSettings settings, AdminApi& api);
    ~AdminServer();  // stop()

    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    // Binds admin.listen and starts serving; throws std::runtime_error naming
    // what failed, e.g. "admin listen 127.0.0.1:9901: Address already in use".
    void start();

    // Stops serving, drops open connections and joins the thread. No-op when
    // not started or already stopped.
    void stop();

    // For the watchdog, from one thread: see ProxyServer::heartbeat.
    bool heartbeat();

private:
    struct Loop;

    AdminSettings settings_;
    AdminApi& api_;
    std::unique_ptr<Loop> loop_;
};

}  // namespace sluice
