// sluiced: loads the configuration, then serves the HTTP data path until
// SIGINT or SIGTERM.
#include "controller/config.h"
#include "proxy/clock.h"
#include "proxy/keyed_hash.h"
#include "proxy/limiter.h"
#include "proxy/local_store.h"
#include "proxy/policy.h"
#include "proxy/proxy_server.h"
#include "proxy/upstream_pool.h"

#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <time.h>

namespace {

using namespace sluice;

constexpr std::string_view version = SLUICE_VERSION;
constexpr std::string_view usage_line = "usage: sluiced --config FILE [--check] | --help | --version";

struct Options {
    std::string config;
    bool check = false;
};

int usage_error(std::string_view problem) {
    std::fprintf(stderr, "sluiced: %.*s\n%.*s\n", static_cast<int>(problem.size()), problem.data(),
                 static_cast<int>(usage_line.size()), usage_line.data());
    return 2;
}

void print_help() {
    std::printf("%.*s\n\n"
                "  --config FILE  the JSON configuration (quotas, listen addresses, upstream)\n"
                "  --check        validate FILE and the quota files it names, then exit:\n"
                "                 0 if valid, 1 listing every error\n"
                "  --help         this text\n"
                "  --version      the version\n\n"
                "Signals: SIGINT and SIGTERM stop sluiced.\n",
                static_cast<int>(usage_line.size()), usage_line.data());
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

// Runs until SIGINT or SIGTERM. The signals were blocked before any thread
// started, so only this thread ever sees them; waiting with a timeout lets it
// also expire idle quota state once a second.
void serve_until_stopped(LocalStore& store, const Clock& clock) {
    const sigset_t signals = handled_signals();
    constexpr Nanos expire_every = 1'000'000'000;
    Nanos next_expiry = clock.now() + expire_every;
    for (;;) {
        const timespec tick{1, 0};
        const int signal = sigtimedwait(&signals, nullptr, &tick);
        if (signal == SIGINT || signal == SIGTERM) return;
        if (signal == SIGHUP) std::fprintf(stderr, "sluiced: SIGHUP: reload is not implemented yet\n");
        if (clock.now() >= next_expiry) {
            store.expire(clock.now());
            next_expiry = clock.now() + expire_every;
        }
    }
}

int serve(const Config& config) {
    const sigset_t signals = handled_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // inherited by every thread started below

    SteadyClock clock;
    LocalStore store(config.max_keys);
    Limiter limiter(std::make_shared<const Policy>(config.quotas, config.headers), store, clock,
                    KeyedHasher::random());
    ProxyServer server(config.proxy, limiter);
    server.start();
    for (const ListenAddress& address : config.proxy.listen) {
        std::fprintf(stderr, "sluiced: listening on %s, upstream %s, %zu quotas\n", host_port(address).c_str(),
                     host_port(config.proxy.upstream).c_str(), config.quotas.size());
    }

    serve_until_stopped(store, clock);
    std::fprintf(stderr, "sluiced: stopping\n");
    server.stop();
    server.wait();
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
            std::printf("sluiced %.*s\n", static_cast<int>(version.size()), version.data());
            return 0;
        }
        if (arg == "--check") {
            options.check = true;
        } else if (arg == "--config") {
            if (++i == argc) return usage_error("--config needs a FILE");
            options.config = argv[i];
        } else {
            return usage_error("unknown argument: " + std::string(arg));
        }
    }
    if (options.config.empty()) return usage_error("--config FILE is required");

    const std::optional<ConfigLoad> load = load_or_report(options.config);
    if (!load) return 1;
    if (options.check) {
        std::printf("%s: OK (%zu quotas)\n", options.config.c_str(), load->config.quotas.size());
        return 0;
    }
    try {
        return serve(load->config);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sluiced: %s\n", e.what());
        return 1;
    }
}
