// What every integration test needs: free ports, the example configs, and
// a running sluiced (with a demo upstream) on a config of the test's choice.
#pragma once

#include "tests/support/temp_folder.h"

#include "http_client.h"
#include "process.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace sluice::test {

// A TCP port on 127.0.0.1 that was free a moment ago.
std::uint16_t free_port();

// configs/examples/<name> from the source tree.
nlohmann::json example_config(const std::string& name);

// demo_upstream listening on 127.0.0.1:`port`.
std::unique_ptr<ChildProcess> start_demo_upstream(std::uint16_t port);

// sluiced on a free port in front of demo_upstream, with `config`'s listen
// and upstream replaced. Both are listening when the constructor returns
// (it throws otherwise, with their stderr). A `launcher` runs sluiced:
// {"/usr/bin/taskset", "-c", "0"} starts "taskset -c 0 sluiced --config ...".
class Deployment {
public:
    enum class Upstream { running, absent };

    explicit Deployment(nlohmann::json config, Upstream upstream = Upstream::running,
                        const std::vector<std::string>& launcher = {});
    // In front of an upstream the test runs (several sluiced share it).
    Deployment(nlohmann::json config, std::uint16_t shared_upstream_port);

    std::uint16_t port() const { return port_; }
    std::uint16_t upstream_port() const { return upstream_port_; }
    HttpClient client(const std::string& source_ip = "127.0.0.1") const { return HttpClient(port_, source_ip); }

    // Stops demo_upstream and starts a new one on the same port: connections
    // sluiced kept open to the old one are now dead.
    void restart_upstream();

    // Replaces sluiced's config file (for a reload), listen and upstream
    // set as at start; or with exactly `text`.
    std::filesystem::path write_config(nlohmann::json config) const;
    void write_config_text(const std::string& text) const;

    // The folder of sluiced's config file (quota files, state_dir, tokens).
    const testing::TempFolder& dir() const { return dir_; }

    // SIGTERM to sluiced; returns its exit code.
    int stop_sluiced();
    ChildProcess& sluiced() { return *sluiced_; }

private:
    void start_sluiced(nlohmann::json config, const std::vector<std::string>& launcher);

    testing::TempFolder dir_;
    std::uint16_t port_;
    std::uint16_t upstream_port_;
    std::unique_ptr<ChildProcess> upstream_;
    std::unique_ptr<ChildProcess> sluiced_;
};

}  // namespace sluice::test
