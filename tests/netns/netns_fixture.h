// A fixture for end-to-end tests of sluiced with the kernel's XDP: per test a
// network namespace (the clients) joined to the root namespace (the server)
// by a veth pair, a demo_upstream, and sluiced with its XDP program attached
// in native mode to the server side of the veth.
//
//   root namespace                         namespace slc<pid>n<k>
//   slv<pid>s<k>  10.213.X.1/24  <--veth-->  slv<pid>c<k>  10.213.X.2/24 (abuser)
//   sluiced on 10.213.X.1:port                             10.213.X.3/24 (good client)
//
// Everything is removed in TearDown, also when the test failed. Needs root;
// without it every test is skipped with a message saying so.
#pragma once

#include "harness.h"
#include "netns_tools.h"
#include "process.h"

#include "xdp/maps.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sluice::test {

struct FloodResult {
    unsigned long sent = 0;
    double elapsed = 0;  // seconds, as udp_flood measured them
};

class NetnsTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    // A config for sluiced on server_ip():port() in front of the upstream,
    // with `quotas` and an xdp section (native on the server veth, this
    // test's pin path, ports [port()]) merged with `xdp`.
    nlohmann::json make_config(const nlohmann::json& quotas, const nlohmann::json& xdp) const;

    // Writes `config` to the world-readable config file (for a reload).
    void write_config(const nlohmann::json& config);
    // Writes `config` to the world-readable config file and starts sluiced
    // as root; returns once it is listening (fails the test otherwise).
    void start_sluiced(const nlohmann::json& config);
    ChildProcess& sluiced() { return *sluiced_; }
    void kill_sluiced();  // SIGKILL: no chance to clean anything up
    int stop_sluiced();   // SIGTERM; its exit code
    // Runs `sluiced --config <the config file> ARGS...`.
    CommandResult sluiced_command(const std::vector<std::string>& args);

    // GET http://server_ip():port/v1/things from `source` inside the client
    // namespace, with curl.
    CurlResult curl(const std::string& source, std::uint16_t port = 0,
                    std::chrono::seconds connect_timeout = std::chrono::seconds(1));

    // udp_flood from `source` in the client namespace to server_ip():port().
    std::unique_ptr<ChildProcess> start_flood(const std::string& source, unsigned long count, std::size_t size = 64);
    static FloodResult flood_result(ChildProcess& flood);

    // The XDP program's counters for the server veth (stats slot 0).
    XdpCounters counters() const;
    std::uint64_t packets(sluice_stat stat) const { return counters()[stat].packets; }
    // The block map's entry for IPv4 `ip`, if any.
    std::optional<sluice_block_entry> block_entry(const std::string& ip) const;
    // Whether any XDP program is attached to the server veth, asked of the kernel.
    bool xdp_attached() const;
    std::string ip_link_show() const;  // `ip -d link show dev <server veth>`

    const std::string& netns() const { return netns_; }
    const std::string& server_if() const { return server_if_; }
    const std::string& server_ip() const { return server_ip_; }
    const std::string& abuser_ip() const { return abuser_ip_; }
    const std::string& good_ip() const { return good_ip_; }
    std::uint16_t port() const { return port_; }
    std::uint16_t upstream_port() const { return upstream_port_; }
    const std::string& pin_path() const { return pin_path_; }
    const testing::TempFolder& dir() const { return *dir_; }

    // Processes a test starts itself (a second sluiced, ...), stopped and
    // logged in TearDown like the fixture's own.
    ChildProcess& keep(std::unique_ptr<ChildProcess> child, std::string name);

private:
    void create_network();
    void delete_network();
    void print_logs();

    std::string netns_, server_if_, client_if_;
    std::string server_ip_, abuser_ip_, good_ip_;
    std::uint16_t port_ = 0;
    std::uint16_t upstream_port_ = 0;
    std::string pin_path_;
    std::unique_ptr<testing::TempFolder> dir_;
    std::string config_file_;
    bool netns_created_ = false;
    bool veth_created_ = false;
    std::unique_ptr<ChildProcess> upstream_;
    std::unique_ptr<ChildProcess> sluiced_;
    std::vector<std::pair<std::string, std::unique_ptr<ChildProcess>>> others_;
    std::vector<std::string> sluiced_logs_;  // of sluiced runs already stopped
};

}  // namespace sluice::test
