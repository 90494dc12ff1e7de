// sluiced: loads the configuration, then serves the HTTP data path until
// SIGINT or SIGTERM, telling systemd how it goes (sd_notify).
#include "admin/api.h"
#include "admin/server.h"
#include "admin/token.h"
#include "config/config.h"
#include "control/control_plane.h"
#include "sluiced/fleet_setup.h"
#include "sluiced/store_setup.h"
#include "state/counter_snapshot.h"
#include "metrics/metrics.h"
#include "sluiced/service_manager.h"
#include "xdp/controller.h"
#include "xdp/report.h"
#include "limit/block_list.h"
#include "common/clock.h"
#include "limit/keyed_hash.h"
#include "limit/limiter.h"
#include "store/local_store.h"
#include "common/log.h"
#include "limit/policy.h"
#include "proxy/proxy_server.h"
#include "proxy/upstream_pool.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <malloc.h>
#include <net/if.h>
#include <time.h>

namespace {

using namespace sluice;

constexpr std::string_view kVersion = SLUICE_VERSION;
constexpr std::string_view kUsageLine =
    "usage: sluiced --config FILE [--check | --xdp-stats | --xdp-detach | --service-stopped] | --help | --version";

struct Options {
    std::string config;
    enum class Action { serve, check, xdp_stats, xdp_detach, service_stopped } action = Action::serve;
};

int usage_error(std::string_view problem) {
    std::fprintf(stderr, "sluiced: %.*s\n%.*s\n", static_cast<int>(problem.size()), problem.data(),
                 static_cast<int>(kUsageLine.size()), kUsageLine.data());
    return 2;
}

void print_help() {
    std::printf(
        "%.*s\n\n"
        "  --config FILE  the JSON configuration (quotas, listen addresses, upstream)\n"
        "  --check        validate FILE and the quota files it names, then exit:\n"
        "                 0 if valid, 1 listing every error\n"
        "  --xdp-stats    print the XDP program's counters per interface (read from\n"
        "                 the pins of FILE's xdp.pin_path; works while sluiced runs)\n"
        "  --xdp-detach   detach the XDP program from every interface and remove its\n"
        "                 pins (block list, counters); sluiced itself leaves it\n"
        "                 attached on exit unless xdp.detach_on_stop is set\n"
        "  --service-stopped\n"
        "                 what sluice.service runs after `systemctl stop` (not after a\n"
        "                 restart): --xdp-detach if xdp.detach_on_stop is set\n"
        "  --help         this text\n"
        "  --version      the version\n\n"
        "Signals: SIGINT and SIGTERM stop sluiced, once the requests in flight are answered\n"
        "(at most limits.drain_timeout); SIGHUP reloads FILE (quotas and XDP\n"
        "limits apply at once; listen, upstream, threads, limits and XDP interfaces on restart).\n"
        "Under systemd (Type=notify) it reports READY=1 once serving, a STATUS= line, and\n"
        "pings the watchdog while its event loops answer.\n",
        static_cast<int>(kUsageLine.size()), kUsageLine.data());
}

std::optional<ConfigLoad> load_or_report(const std::string& file) {
    ConfigLoad load = load_config(file);
    if (load.ok()) return load;
    for (const ConfigError& error : load.errors) std::fprintf(stderr, "%s\n", to_string(error).c_str());
    return std::nullopt;
}

sigset_t handled_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, s);
    return signals;
}

void reload_failed(const std::vector<std::string>& reasons) {
    for (const std::string& reason : reasons) log(LogLevel::error, "reload: %s", reason.c_str());
    log(LogLevel::error, "reload failed: the running configuration stays");
}

// SIGHUP: reads the config again. An invalid one is reported and the running
// one stays. Quotas (counters of unchanged quotas kept), trusted proxies (for
// X-Forwarded-For and XDP blocks), and the XDP limits and lists apply at once; listen addresses,
// upstream, threads, limits, admin, state_dir and XDP attachment apply on
// restart.
// Says which settings of `next` wait for a restart.
void note_restart_settings(const Config& started, const Config& next) {
    const std::pair<bool, const char*> changes[] = {
        {next.proxy.listen != started.proxy.listen, "listen"},
        {next.proxy.upstream != started.proxy.upstream, "upstream"},
        {next.proxy.threads != started.proxy.threads, "threads"},
        {next.max_keys != started.max_keys, "limits.max_keys"},
        {next.max_blocks != started.max_blocks, "limits.max_blocks"},
        {next.admin != started.admin, "admin"},
        {next.state_dir != started.state_dir, "state_dir"},
    };
    for (const auto& [changed, what] : changes)
        if (changed) log(LogLevel::warning, "reload: %s changed: it takes effect when sluiced restarts", what);
}

// Returns whether the new config is in force.
bool reload(const std::string& file, const Config& started, ControlPlane& control, ProxyServer& server,
            XdpController* xdp) {
    const ConfigLoad load = load_config(file);
    if (!load.ok()) {
        control.count_failed_reload();
        std::vector<std::string> reasons;
        for (const ConfigError& error : load.errors) reasons.push_back(to_string(error));
        reload_failed(reasons);
        return false;
    }
    const Config& next = load.config;
    if (const std::vector<std::string> clashes = control.reload(next); !clashes.empty()) {
        reload_failed(clashes);
        return false;
    }
    note_restart_settings(started, next);
    server.set_trusted_proxies(next.proxy.trusted_proxies);
    if (xdp && next.xdp) {
        try {
            for (const std::string& note : xdp->apply(*next.xdp)) log(LogLevel::warning, "reload: %s", note.c_str());
            xdp->set_trusted_proxies(next.proxy.trusted_proxies);
        } catch (const std::exception& e) {
            log(LogLevel::error, "reload: XDP maps not updated: %s", e.what());
        }
    } else if (xdp) {
        log(LogLevel::warning, "reload: the xdp section is gone; XDP stays attached until sluiced --xdp-detach");
    } else if (next.xdp) {
        log(LogLevel::warning, "reload: XDP was off at start; restart sluiced to start it");
    }
    log(LogLevel::info, "reloaded %s: %zu quotas", file.c_str(), next.quotas.size());
    return true;
}

// What sluiced tells systemd: READY=1, STATUS=, the watchdog. Failures to
// tell are logged once, not per tick.
class ServiceReporter {
public:
    explicit ServiceReporter(ServiceManager manager) : manager_(std::move(manager)) {}

    void notify(const std::string& message) {
        std::string error;
        if (!manager_.notify(message, error) && !failed_) log(LogLevel::warning, "%s", error.c_str());
        failed_ = !error.empty();
    }
    const ServiceManager& manager() const { return manager_; }

private:
    ServiceManager manager_;
    bool failed_ = false;
};

// What serve() started: the loop below and the status line read it.
struct Running {
    const Config& started;
    LocalStore& store;
    const Limiter& limiter;
    ControlPlane& control;
    ProxyServer& server;
    AdminServer* admin;  // nullptr without an admin section
    const BlockList& blocks;
    XdpController* xdp;
    const FleetMonitor* fleet;  // nullptr without a Redis store
};

// The one-line STATUS= summary `systemctl status sluice` shows.
std::string status_line(const Running& run, bool last_reload_failed) {
    std::string line = "serving";
    for (const ListenAddress& address : run.started.proxy.listen) line += " " + host_port(address);
    line += ", " + std::to_string(run.limiter.policy()->quotas().size()) + " quotas, XDP ";
    if (!run.xdp) line += "off";
    for (std::size_t i = 0; run.xdp && i < run.xdp->attachments().size(); ++i) {
        const XdpAttachment& a = run.xdp->attachments()[i];
        line += (i ? ", " : "") + a.interface + " (" + a.mode + ")";
    }
    const ProxyStatsSnapshot stats = run.server.stats();
    line += "; " + std::to_string(stats.forwarded) + " forwarded, " + std::to_string(stats.limited) + " limited, " +
            std::to_string(run.blocks.size()) + " clients blocked";
    if (run.fleet) {
        const FleetSyncStatus fleet = run.fleet->status();
        line += std::string("; fleet ") + to_string(fleet.state);
        if (fleet.state == FleetSyncState::lagging) line += " by " + std::to_string(fleet.lag);
        if (fleet.pending > 0) line += ", " + std::to_string(fleet.pending) + " blocks to send";
    }
    if (last_reload_failed) line += "; last reload failed (config kept, see the journal)";
    return line;
}

// Runs until SIGINT or SIGTERM. The signals were blocked before any thread
// started, so only this thread ever sees them; waiting with a timeout lets it
// also expire idle quota state and XDP blocks once a second (XDP blocks it
// wrote as they end), and ping the watchdog while every event loop (proxy
// and admin) answers its heartbeats.
void serve_until_stopped(const std::string& config_file, const Running& run, ServiceReporter& service,
                         const Clock& clock) {
    const sigset_t signals = handled_signals();
    constexpr Nanos second = 1'000'000'000;
    const Nanos watchdog = service.manager().watchdog_interval();
    // Three heartbeats per watchdog interval: one late answer is no restart.
    const Nanos beat_every = watchdog > 0 ? std::min(second, watchdog / 3) : second;
    // Four times a second at least: a block ending leaves the XDP map within 250 ms.
    const Nanos wake_every = std::min(second / 4, beat_every);
    Nanos next_tick = clock.now() + second;
    Nanos next_beat = clock.now();
    bool last_reload_failed = false;
    for (;;) {
        const timespec wait{wake_every / second, wake_every % second};
        const int signal = sigtimedwait(&signals, nullptr, &wait);
        if (signal == SIGINT || signal == SIGTERM) return;
        if (signal == SIGHUP) {
            service.notify("RELOADING=1");
            last_reload_failed = !reload(config_file, run.started, run.control, run.server, run.xdp);
        }
        if (watchdog > 0 && clock.now() >= next_beat) {
            next_beat = clock.now() + beat_every;
            const bool proxy_answered = run.server.heartbeat();  // both beat, whatever the other says
            const bool admin_answered = !run.admin || run.admin->heartbeat();
            if (proxy_answered && admin_answered) service.notify("WATCHDOG=1");
        }
        if (run.xdp) run.xdp->remove_due_blocks();
        const bool tick_due = clock.now() >= next_tick;
        if (signal == SIGHUP || tick_due)
            service.notify((signal == SIGHUP ? "READY=1\nSTATUS=" : "STATUS=") + status_line(run, last_reload_failed));
        if (tick_due) {
            run.store.expire(clock.now());
            run.control.tick();
            if (run.xdp) run.xdp->tick();
            next_tick = clock.now() + second;
        }
    }
}

// Lets the requests in flight finish, for up to `timeout`; returns how many
// connections were still open. systemd's watchdog runs on while a service
// stops: it is pinged, so a long drain is no hang to it. Not on heartbeats:
// a loop with no connection left has returned; the timeout bounds the wait.
std::size_t drain(ProxyServer& server, std::chrono::milliseconds timeout, ServiceReporter& service) {
    const Nanos watchdog = service.manager().watchdog_interval();
    if (watchdog <= 0) return server.wait_for_connections(timeout);
    const auto slice = std::chrono::ceil<std::chrono::milliseconds>(std::chrono::nanoseconds(watchdog / 3));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        const std::size_t open = server.wait_for_connections(std::min(left, slice));
        if (open == 0 || left <= slice) return open;
        service.notify("WATCHDOG=1");
    }
}

// The XDP side, or nullptr when it is off; a config the operator must fix
// (a missing interface, native mode the driver lacks) throws.
std::unique_ptr<XdpController> start_xdp(const Config& config) {
    if (!config.xdp) {
        log(LogLevel::notice, "XDP is off: the config has no \"xdp\" section; HTTP limits still apply");
        return nullptr;
    }
    try {
        auto xdp = std::make_unique<XdpController>(*config.xdp, config.proxy.trusted_proxies);
        for (const std::string& line : xdp->describe()) log(LogLevel::info, "%s", line.c_str());
        return xdp;
    } catch (const XdpUnavailable& e) {
        log(LogLevel::warning, "XDP is off: %s; HTTP limits still apply", e.what());
        return nullptr;
    }
}

std::string interface_name(std::uint32_t ifindex) {
    char name[IF_NAMESIZE] = {};
    return if_indextoname(ifindex, name) ? name : "ifindex " + std::to_string(ifindex) + " (gone)";
}

int print_xdp_stats(const XdpSettings& xdp) {
    const Checked<XdpMaps> maps = XdpMaps::open_pinned(xdp.pin_path);
    if (!maps.ok()) {
        std::fprintf(stderr, "sluiced: no XDP program pinned (is sluiced running with xdp?): %s\n",
                     maps.error().c_str());
        return 1;
    }
    std::fputs(format_xdp_stats(maps.value().read_stats(), maps.value().read_config(), &interface_name).c_str(),
               stdout);
    return 0;
}

// Whether the program stays attached after this sluiced: by hand, a stop is
// SIGTERM; under systemd a restart is SIGTERM too, so there the unit's
// ExecStopPost (--service-stopped) detaches, after a stop only.
void leave_xdp(const XdpSettings& xdp, const ServiceManager& manager) {
    if (!xdp.detach_on_stop) {
        log(LogLevel::info, "XDP stays attached and enforcing (xdp.detach_on_stop is off)");
    } else if (manager.started_by_systemd()) {
        log(LogLevel::info, "XDP stays attached until the service's stop hook: detached on stop, kept on restart");
    } else {
        for (const std::string& line : remove_xdp_pins(xdp.pin_path)) log(LogLevel::info, "%s", line.c_str());
    }
}

int detach_xdp(const XdpSettings& xdp) {
    const std::vector<std::string> removed = remove_xdp_pins(xdp.pin_path);
    if (removed.empty()) std::printf("nothing pinned under %s\n", xdp.pin_path.c_str());
    for (const std::string& line : removed) std::printf("%s\n", line.c_str());
    return 0;
}

// The admin API, or nullptr when the config has no admin section.
std::unique_ptr<AdminServer> start_admin(const Config& config, AdminApi& api) {
    if (!config.admin) {
        log(LogLevel::notice, "admin API is off: the config has no \"admin\" section");
        return nullptr;
    }
    auto server = std::make_unique<AdminServer>(*config.admin, api);
    server->start();
    const std::string where = host_port(config.admin->listen);
    const std::optional<IpAddress> host = parse_ip(config.admin->listen.host);
    const bool loopback = host && (host->is_v4() ? host->bytes[12] == 127 : *host == *parse_ip("::1"));
    log(loopback ? LogLevel::info : LogLevel::warning, "admin API on http://%s%s", where.c_str(),
        loopback ? "" : " (not loopback: the token travels in clear; put TLS in front or bind 127.0.0.1)");
    return server;
}

int serve(const std::string& config_file, const Config& config, ServiceReporter& service) {
    // glibc raises its mmap threshold after each large free (up to 32 MiB), so
    // that bodies and answers of a few MiB come from the threads' arenas, and
    // it only trims an arena's top beyond twice that: after a burst of large
    // messages the resident size stays near its peak. A fixed threshold maps
    // such buffers apart and unmaps them when freed.
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    const sigset_t signals = handled_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // inherited by every thread started below

    SteadyClock clock;
    StoreSetup stores = set_up_store(config, clock);
    LocalStore& store = *stores.local;
    const KeyedHasher hasher = stores.hasher;
    // The control plane puts the quotas in force, with those of state_dir.
    Limiter limiter(std::make_shared<const Policy>(std::vector<Quota>{}, config.headers), stores.queries(), clock,
                    hasher);
    limiter.set_on_store_error(stores.on_error);
    BlockList blocks(config.max_blocks);
    limiter.set_block_list(&blocks);
    const std::unique_ptr<XdpController> xdp = start_xdp(config);
    FleetSetup fleet = set_up_fleet_blocks(config, blocks, xdp.get(), clock);
    ControlPlane control(limiter, blocks, xdp.get(), clock);
    control.start(config);
    if (stores.redis) start_fleet(fleet, config, *stores.redis, kVersion, control, blocks, xdp.get(), clock);
    ProxyServer server(config.proxy, limiter, stores.handles());
    server.set_block_listener(blocks, clock);
    server.start();

    std::string token;
    if (config.admin) {
        AdminToken loaded = load_admin_token(config.admin->token_file);
        for (const std::string& note : loaded.notes) log(LogLevel::notice, "%s", note.c_str());
        token = std::move(loaded.value);
    }
    const MetricsSources metrics{limiter,        store,     server,   blocks,
                                 control,        xdp.get(), kVersion, stores.redis ? &stores.redis->stats() : nullptr,
                                 fleet.monitor()};
    AdminApi api(
        control, AdminAuth(std::move(token)), [&metrics] { return render_metrics(metrics); }, std::string(kVersion),
        fleet.monitor());
    const std::unique_ptr<AdminServer> admin = start_admin(config, api);
    for (const ListenAddress& address : config.proxy.listen) {
        log(LogLevel::info, "listening on %s, upstream %s, %zu quotas", host_port(address).c_str(),
            host_port(config.proxy.upstream).c_str(), limiter.policy()->quotas().size());
    }

    // Listeners bound, XDP attached, state loaded: only now is it ready.
    const Running running{config, store, limiter, control, server, admin.get(), blocks, xdp.get(), fleet.monitor()};
    service.notify("READY=1\nSTATUS=" + status_line(running, false));
    serve_until_stopped(config_file, running, service, clock);
    service.notify("STOPPING=1\nSTATUS=stopping");
    log(LogLevel::info, "stopping");
    if (admin) admin->stop();
    if (fleet.sync) fleet.sync->stop();
    server.stop_accepting();
    log(LogLevel::info, "stopping: listeners closed; waiting up to %lld ms for the requests in flight",
        static_cast<long long>(config.proxy.drain_timeout.count()));
    if (const std::size_t cut = drain(server, config.proxy.drain_timeout, service); cut > 0)
        log(LogLevel::warning, "stopping: limits.drain_timeout passed with %zu connections open; closing them", cut);
    server.stop();
    server.wait();
    // No request counts any more. With Redis the fleet's counters stay there;
    // the local store only stood in for it.
    if (!config.store) save_counters_on_stop(config.state_dir, hasher, store, clock);
    if (xdp) leave_xdp(*config.xdp, service.manager());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            print_help();
            return 0;
        }
        if (arg == "--version") {
            std::printf("sluiced %.*s\n", static_cast<int>(kVersion.size()), kVersion.data());
            return 0;
        }
        if (arg == "--check") {
            options.action = Options::Action::check;
        } else if (arg == "--xdp-stats") {
            options.action = Options::Action::xdp_stats;
        } else if (arg == "--xdp-detach") {
            options.action = Options::Action::xdp_detach;
        } else if (arg == "--service-stopped") {
            options.action = Options::Action::service_stopped;
        } else if (arg == "--config") {
            if (++i == argc) return usage_error("--config needs a FILE");
            options.config = argv[i];
        } else {
            return usage_error("unknown argument: " + std::string(arg));
        }
    }
    if (options.config.empty()) return usage_error("--config FILE is required");

    ServiceReporter service(ServiceManager::from_environment());
    const std::optional<ConfigLoad> load = load_or_report(options.config);
    if (!load) {
        service.notify("STATUS=failed: invalid configuration " + options.config + " (see the journal)");
        return 1;
    }
    const bool xdp_action =
        options.action == Options::Action::xdp_stats || options.action == Options::Action::xdp_detach;
    // A stop of a service without XDP has nothing to undo.
    if (options.action == Options::Action::service_stopped && !load->config.xdp) return 0;
    if (xdp_action && !load->config.xdp) {
        std::fprintf(stderr, "sluiced: the config has no \"xdp\" section\n");
        return 1;
    }
    try {
        switch (options.action) {
        case Options::Action::check:
            std::printf("%s: OK (%zu quotas)\n", options.config.c_str(), load->config.quotas.size());
            // Not an error: Redis may be down now, and on_error answers until it is back.
            if (const std::optional<std::string> warning = store_warning(load->config))
                std::printf("warning: store: %s\n", warning->c_str());
            return 0;
        case Options::Action::xdp_stats: return print_xdp_stats(*load->config.xdp);
        case Options::Action::xdp_detach: return detach_xdp(*load->config.xdp);
        case Options::Action::service_stopped:
            return load->config.xdp->detach_on_stop ? detach_xdp(*load->config.xdp) : 0;
        case Options::Action::serve: return serve(options.config, load->config, service);
        }
        return 1;
    } catch (const std::exception& e) {
        log(LogLevel::error, "%s", e.what());
        service.notify("STATUS=failed: " + std::string(e.what()));
        return 1;
    }
}
