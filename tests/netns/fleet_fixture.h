// A fixture for end-to-end tests of a fleet: three sluiced "hosts", each in a
// network namespace of its own with XDP native on its eth0, joined by a
// bridge in the root namespace to one client namespace and to redis-server.
//
//   root namespace: bridge slv<pid>b<k> 10.214.X.1/24; redis-server on 10.214.X.1
//   |- port slv<pid>p<k>0 <--veth--> eth0 10.214.X.11  namespace slc<pid>f<k>h0 (host a)
//   |- port slv<pid>p<k>1 <--veth--> eth0 10.214.X.12  namespace slc<pid>f<k>h1 (host b)
//   |- port slv<pid>p<k>2 <--veth--> eth0 10.214.X.13  namespace slc<pid>f<k>h2 (host c)
//   `- port slv<pid>p<k>3 <--veth--> eth0 10.214.X.2 (abuser), 10.214.X.3 (good client)
//                                                      namespace slc<pid>f<k>c
//
// In each host namespace: sluiced on <host ip>:8080 with its own pin path
// (/sys/fs/bpf/sluice-test-<pid>-f<k>h<i>), state_dir, token file and admin
// API on 127.0.0.1:8200, in front of a demo_upstream on 127.0.0.1:9000.
// The namespaces are fresh, so those ports are free there.
//
// Everything is removed in TearDown, also when the test failed. Needs root;
// without it every test is skipped with a message saying so. FleetRedisTest
// adds the Redis and skips where redis-server is not installed.
#pragma once

#include "netns_tools.h"
#include "process.h"

#include "tests/support/redis_server.h"
#include "tests/support/temp_folder.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sluice::test {

// Polls `holds` every 5 ms from `since` on, for at most `bound`: how long
// after `since` a check that began within the bound found it true, or
// nullopt if none did.
std::optional<std::chrono::milliseconds> held_within(const std::function<bool()>& holds,
                                                     std::chrono::steady_clock::time_point since,
                                                     std::chrono::milliseconds bound);

class FleetTest : public ::testing::Test {
protected:
    static constexpr std::size_t kHosts = 3;
    static constexpr std::size_t kA = 0, kB = 1, kC = 2;
    static constexpr std::uint16_t kProxyPort = 8080;  // in each host namespace
    static constexpr std::uint16_t kUpstreamPort = 9000;
    static constexpr std::uint16_t kAdminPort = 8200;

    void SetUp() override;
    void TearDown() override;

    // Host `host`'s config: `quotas`, XDP native on its eth0 (loose rates:
    // only blocks drop), its admin API and state_dir, and `store` unless null.
    nlohmann::json host_config(std::size_t host, const nlohmann::json& quotas, const nlohmann::json& store) const;
    // Starts sluiced on every host, one after the other (the first creates
    // the fleet key file), each with XDP attached native; fails the test
    // otherwise.
    void start_hosts(const nlohmann::json& quotas, const nlohmann::json& store = nullptr);

    // GET http://<host>:8080/v1/things from `source` in the client namespace.
    CurlResult get(const std::string& source, std::size_t host);
    // Whether `source` in the client namespace opens a TCP connection to
    // <host>:8080 within `timeout` (and closes it without a request).
    bool connects(const std::string& source, std::size_t host,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(200));
    // `method` /v1/sys/blocks/<ip> on host `host`'s admin API, with its token.
    CurlResult admin_block(std::size_t host, const std::string& method, const std::string& ip,
                           const std::string& body = {});

    XdpCounters counters(std::size_t host) const { return xdp_counters(hosts_[host].pin_path); }
    std::uint64_t packets(std::size_t host, sluice_stat stat) const { return counters(host)[stat].packets; }
    std::optional<sluice_block_entry> block_entry(std::size_t host, const std::string& ip) const {
        return xdp_block_entry(hosts_[host].pin_path, ip);
    }
    std::set<std::string> blocked(std::size_t host) const { return xdp_blocked_addresses(hosts_[host].pin_path); }

    const std::string& host_name(std::size_t host) const { return hosts_[host].name; }
    const std::string& host_netns(std::size_t host) const { return hosts_[host].netns; }
    const std::string& host_ip(std::size_t host) const { return hosts_[host].ip; }
    ChildProcess& sluiced(std::size_t host) { return *hosts_[host].sluiced; }
    const std::string& bridge_ip() const { return bridge_ip_; }
    const std::string& abuser_ip() const { return abuser_ip_; }
    const std::string& good_ip() const { return good_ip_; }
    const testing::TempFolder& dir() const { return *dir_; }

private:
    struct Host {
        std::string name;  // "a", "b", "c"
        std::string netns, port_if;
        std::string ip;
        std::string pin_path;
        std::filesystem::path dir;  // config, token file, state_dir
        bool netns_created = false;
        std::unique_ptr<ChildProcess> upstream;
        std::unique_ptr<ChildProcess> sluiced;
    };

    void create_network();
    // Makes `netns` and a veth pair: eth0 in it, `port_if` on the bridge.
    void add_bridged_namespace(const std::string& netns, bool& created, const std::string& port_if,
                               const std::vector<std::string>& addresses);
    void delete_network();
    void print_logs();

    std::string bridge_if_, bridge_ip_;
    bool bridge_created_ = false;
    std::array<Host, kHosts> hosts_;
    std::string client_netns_, client_port_if_;
    bool client_netns_created_ = false;
    std::string abuser_ip_, good_ip_;
    std::unique_ptr<testing::TempFolder> dir_;
};

// FleetTest with redis-server on the bridge's address, and the hosts' store
// pointed at it: all three share one key file.
class FleetRedisTest : public FleetTest {
protected:
    static constexpr const char* kBlocksKey = "sluice:{fleet}blocks";  // field: a client address
    static constexpr const char* kEventsKey = "sluice:{fleet}events";  // the change stream

    void SetUp() override;
    void TearDown() override;  // the hosts first, then Redis

    nlohmann::json redis_store() const;
    testing::RedisServer& redis() { return *redis_; }
    // The fields of kBlocksKey: every block of the fleet.
    std::set<std::string> fleet_blocks();

    // Drops host `host`'s traffic to and from Redis (nft in its namespace),
    // or lets it through again; fails the test if a new connection from the
    // host to Redis then does not fail, or does not succeed.
    void cut_off_from_redis(std::size_t host);
    void reconnect_to_redis(std::size_t host);

private:
    bool reaches_redis(std::size_t host);

    std::optional<testing::RedisServer> redis_;
};

}  // namespace sluice::test
