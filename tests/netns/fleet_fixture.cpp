#include "fleet_fixture.h"

#include "xdp/program.h"

#include <net/if.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <thread>

namespace sluice::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto kStartTimeout = 10s;
constexpr const char* kNftTable = "sluice_test";

// `program` started inside network namespace `netns`. nsenter and not `ip
// netns exec`: that one mounts a /sys of its own for the namespace, without
// /sys/fs/bpf, so sluiced would pin its maps and links on a BPF filesystem
// that neither this test nor a later sluiced can see, and that is gone when
// it exits (and XDP with it).
std::unique_ptr<ChildProcess> start_in(const std::string& netns, const std::string& program,
                                       const std::vector<std::string>& args) {
    std::vector<std::string> all{"--net=/run/netns/" + netns, program};
    all.insert(all.end(), args.begin(), args.end());
    return std::make_unique<ChildProcess>(tool("nsenter"), all);
}

// <folder>/<name>, readable by its owner only (as sluiced wants a token file).
void write_private(const testing::TempFolder& folder, const fs::path& name, const std::string& text) {
    fs::permissions(folder.write(name, text), fs::perms::owner_read | fs::perms::owner_write);
}

}  // namespace

std::optional<std::chrono::milliseconds> held_within(const std::function<bool()>& holds,
                                                     std::chrono::steady_clock::time_point since,
                                                     std::chrono::milliseconds bound) {
    for (;;) {
        const auto checked_at = std::chrono::steady_clock::now();
        if (checked_at - since > bound) return std::nullopt;
        if (holds()) return std::chrono::duration_cast<std::chrono::milliseconds>(checked_at - since);
        std::this_thread::sleep_for(5ms);
    }
}

void FleetTest::SetUp() {
    if (geteuid() != 0) GTEST_SKIP() << kNeedsRoot;
    static unsigned instance = 0;  // several tests in one process need distinct names
    const std::string k = std::to_string(instance++);
    const std::string pid = std::to_string(getpid());
    bridge_if_ = kVethPrefix + pid + "b" + k;
    client_netns_ = kNetnsPrefix + pid + "f" + k + "c";
    client_port_if_ = kVethPrefix + pid + "p" + k + std::to_string(kHosts);
    ASSERT_LE(client_port_if_.size(), static_cast<std::size_t>(IFNAMSIZ - 1));
    dir_ = std::make_unique<testing::TempFolder>();
    for (std::size_t i = 0; i < kHosts; ++i) {
        Host& host = hosts_[i];
        host.name = std::string(1, static_cast<char>('a' + i));
        host.netns = kNetnsPrefix + pid + "f" + k + "h" + std::to_string(i);
        host.port_if = kVethPrefix + pid + "p" + k + std::to_string(i);
        host.pin_path = "/sys/fs/bpf/" + std::string(kPinPrefix) + pid + "-f" + k + "h" + std::to_string(i);
        host.dir = dir_->path() / ("host-" + host.name);
        write_private(*dir_, host.dir.filename() / "admin.token", "fleet-token-" + host.name + "\n");
    }

    try {
        remove_leftovers();
        create_network();
        for (Host& host : hosts_) {
            host.upstream =
                start_in(host.netns, DEMO_UPSTREAM_BINARY, {"--listen", "127.0.0.1:" + std::to_string(kUpstreamPort)});
            if (!host.upstream->wait_for_stderr("demo_upstream: listening on", kStartTimeout))
                throw std::runtime_error("demo_upstream of host " + host.name +
                                         " did not start: " + host.upstream->stderr_text());
        }
    } catch (const std::exception& e) {
        FAIL() << "setting up the namespaces failed: " << e.what();
    }
}

void FleetTest::create_network() {
    const std::string ip = tool("ip");
    const std::string subnet = free_subnet("10.214", static_cast<unsigned>(getpid()));
    bridge_ip_ = subnet + ".1";
    abuser_ip_ = subnet + ".2";
    good_ip_ = subnet + ".3";

    must(run_command(ip, {"link", "add", "name", bridge_if_, "type", "bridge"}), "ip link add " + bridge_if_);
    bridge_created_ = true;
    must(run_command(ip, {"addr", "add", bridge_ip_ + "/24", "dev", bridge_if_}), "ip addr add " + bridge_ip_);
    must(run_command(ip, {"link", "set", bridge_if_, "up"}), "ip link set up " + bridge_if_);
    for (std::size_t i = 0; i < kHosts; ++i) {
        Host& host = hosts_[i];
        host.ip = subnet + "." + std::to_string(11 + i);
        add_bridged_namespace(host.netns, host.netns_created, host.port_if, {host.ip});
    }
    add_bridged_namespace(client_netns_, client_netns_created_, client_port_if_, {abuser_ip_, good_ip_});
}

void FleetTest::add_bridged_namespace(const std::string& netns, bool& created, const std::string& port_if,
                                      const std::vector<std::string>& addresses) {
    const std::string ip = tool("ip");
    must(run_command(ip, {"netns", "add", netns}), "ip netns add " + netns);
    created = true;
    // The namespace's end is made there directly, so every one can be eth0.
    must(run_command(ip, {"link", "add", port_if, "type", "veth", "peer", "name", "eth0", "netns", netns}),
         "ip link add " + port_if);
    must(run_command(ip, {"link", "set", port_if, "master", bridge_if_, "up"}), "ip link set master " + port_if);
    for (const std::string& address : addresses)
        must(run_command(ip, {"-n", netns, "addr", "add", address + "/24", "dev", "eth0"}),
             "ip addr add " + address + " in " + netns);
    must(run_command(ip, {"-n", netns, "link", "set", "eth0", "up"}), "ip link set up eth0 in " + netns);
    must(run_command(ip, {"-n", netns, "link", "set", "lo", "up"}), "ip link set up lo in " + netns);
}

void FleetTest::TearDown() {
    if (HasFailure()) print_logs();
    // Processes first: sluiced must not re-create anything while it goes.
    for (Host& host : hosts_) {
        host.sluiced.reset();
        host.upstream.reset();
    }
    // `sluiced --xdp-detach` would have to run inside the namespace; removing
    // the pins does the same from here.
    for (const Host& host : hosts_) {
        if (!host.pin_path.empty() && fs::exists(host.pin_path)) remove_xdp_pins(host.pin_path);
    }
    delete_network();
    dir_.reset();
}

void FleetTest::delete_network() {
    const std::string ip = tool("ip");
    // The veth first, both ends at once: a namespace outlives its name while
    // a socket in it still closes (a FIN that XDP drops is retried for
    // minutes), and with it its eth0 and the bridge port.
    const auto delete_netns = [&](const std::string& netns, bool& created, const std::string& port_if) {
        if (!created) return;
        if (fs::exists("/sys/class/net/" + port_if)) {
            const CommandResult result = run_command(ip, {"link", "del", port_if});
            EXPECT_EQ(result.exit_code, 0) << "ip link del " << port_if << ": " << result.err;
        }
        const CommandResult result = run_command(ip, {"netns", "del", netns});
        EXPECT_EQ(result.exit_code, 0) << "ip netns del " << netns << ": " << result.err;
        created = false;
    };
    for (Host& host : hosts_) delete_netns(host.netns, host.netns_created, host.port_if);
    delete_netns(client_netns_, client_netns_created_, client_port_if_);
    if (bridge_created_) {
        const CommandResult result = run_command(ip, {"link", "del", bridge_if_});
        EXPECT_EQ(result.exit_code, 0) << "ip link del " << bridge_if_ << ": " << result.err;
        bridge_created_ = false;
    }
}

void FleetTest::print_logs() {
    for (const Host& host : hosts_) {
        if (host.sluiced)
            std::fprintf(stderr, "--- sluiced of host %s stderr:\n%s", host.name.c_str(),
                         host.sluiced->stderr_text().c_str());
        if (host.upstream)
            std::fprintf(stderr, "--- demo_upstream of host %s stderr:\n%s", host.name.c_str(),
                         host.upstream->stderr_text().c_str());
    }
}

nlohmann::json FleetTest::host_config(std::size_t host, const nlohmann::json& quotas,
                                      const nlohmann::json& store) const {
    const Host& h = hosts_[host];
    nlohmann::json config = {
        {"listen", {h.ip + ":" + std::to_string(kProxyPort)}},
        {"upstream", "http://127.0.0.1:" + std::to_string(kUpstreamPort)},
        {"quotas", quotas},
        {"xdp",
         {{"interfaces", {"eth0"}},
          {"mode", "native"},
          {"ports", {kProxyPort}},
          {"pin_path", h.pin_path},
          {"rate_pps", 100},
          {"burst", 200}}},
        {"admin",
         {{"listen", "127.0.0.1:" + std::to_string(kAdminPort)}, {"token_file", (h.dir / "admin.token").string()}}},
        {"state_dir", (h.dir / "state").string()}};
    if (!store.is_null()) {
        config["store"] = store;
        config["store"]["node"] = "host-" + h.name;  // the machine's host name is all three's
    }
    return config;
}

void FleetTest::start_hosts(const nlohmann::json& quotas, const nlohmann::json& store) {
    for (std::size_t i = 0; i < kHosts; ++i) {
        Host& host = hosts_[i];
        const fs::path file = dir_->write(host.dir.filename() / "sluiced.json", host_config(i, quotas, store).dump(2));
        host.sluiced = start_in(host.netns, SLUICED_BINARY, {"--config", file.string()});
        ASSERT_TRUE(host.sluiced->wait_for_stderr("sluiced: listening on", kStartTimeout))
            << "sluiced of host " << host.name << " did not start: " << host.sluiced->stderr_text();
        ASSERT_NE(host.sluiced->stderr_text().find("XDP attached to eth0 (native mode"), std::string::npos)
            << "host " << host.name << ": " << host.sluiced->stderr_text();
    }
}

CurlResult FleetTest::get(const std::string& source, std::size_t host) {
    const std::string url = "http://" + hosts_[host].ip + ":" + std::to_string(kProxyPort) + "/v1/things";
    return curl_in(client_netns_, {"-o", "/dev/null", "--interface", source}, url);
}

bool FleetTest::connects(const std::string& source, std::size_t host, std::chrono::milliseconds timeout) {
    return tcp_connects(client_netns_, source, hosts_[host].ip, kProxyPort, timeout);
}

CurlResult FleetTest::admin_block(std::size_t host, const std::string& method, const std::string& ip,
                                  const std::string& body) {
    std::vector<std::string> options{"-X", method, "-H", "X-Vault-Token: fleet-token-" + hosts_[host].name};
    if (!body.empty()) options.insert(options.end(), {"-H", "Content-Type: application/json", "--data", body});
    return curl_in(hosts_[host].netns, options,
                   "http://127.0.0.1:" + std::to_string(kAdminPort) + "/v1/sys/blocks/" + ip);
}

void FleetRedisTest::SetUp() {
    if (testing::redis_server_program().empty()) GTEST_SKIP() << testing::kRedisServerMissing;
    FleetTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    try {
        // Without a password Redis answers other addresses than loopback only
        // out of protected mode; the bridge is this test's own network.
        redis_.emplace(std::vector<std::string>{"--protected-mode", "no"}, 0, bridge_ip());
    } catch (const std::exception& e) {
        FAIL() << "starting redis-server on " << bridge_ip() << " failed: " << e.what();
    }
}

void FleetRedisTest::TearDown() {
    if (HasFailure() && redis_) std::fprintf(stderr, "--- redis-server log:\n%s", redis_->log().c_str());
    FleetTest::TearDown();
    redis_.reset();
}

nlohmann::json FleetRedisTest::redis_store() const {
    // Timeout 250 ms: the default 5 ms is for a quiet network, not for five
    // namespaces on two busy cores. host_config() names each host.
    return {{"type", "redis"},
            {"url", "redis://" + bridge_ip() + ":" + std::to_string(redis_->port())},
            {"key_secret_file", (dir() / "fleet.key").string()},
            {"timeout", "250ms"},
            {"on_error", "local"}};
}

std::set<std::string> FleetRedisTest::fleet_blocks() {
    const RedisReplyPtr reply = redis_->call({"HKEYS", kBlocksKey});
    std::set<std::string> fields;
    for (std::size_t i = 0; i < reply->elements; ++i) fields.emplace(reply_text(*reply->element[i]));
    return fields;
}

void FleetRedisTest::cut_off_from_redis(std::size_t host) {
    // Both ways: a reply Redis pushes to a blocked XREAD would otherwise
    // still arrive.
    const std::string address = bridge_ip();
    const std::string port = std::to_string(redis_->port());
    const std::string rules = "table inet " + std::string(kNftTable) + " {\n" +
                              "  chain out { type filter hook output priority 0; policy accept; ip daddr " + address +
                              " tcp dport " + port + " drop; }\n" +
                              "  chain in { type filter hook input priority 0; policy accept; ip saddr " + address +
                              " tcp sport " + port + " drop; }\n}\n";
    const fs::path file = dir().write("cut-" + host_name(host) + ".nft", rules);
    must(run_command(tool("ip"), {"netns", "exec", host_netns(host), tool("nft"), "-f", file.string()}),
         "nft -f " + file.string() + " in host " + host_name(host));
    ASSERT_FALSE(reaches_redis(host)) << "host " << host_name(host) << " still reaches Redis: the cut does not cut";
}

void FleetRedisTest::reconnect_to_redis(std::size_t host) {
    must(
        run_command(tool("ip"), {"netns", "exec", host_netns(host), tool("nft"), "delete", "table", "inet", kNftTable}),
        "nft delete table in host " + host_name(host));
    ASSERT_TRUE(reaches_redis(host)) << "host " << host_name(host) << " does not reach Redis after the cut";
}

bool FleetRedisTest::reaches_redis(std::size_t host) {
    return tcp_connects(host_netns(host), host_ip(host), bridge_ip(), redis_->port(), 300ms);
}

}  // namespace sluice::test
