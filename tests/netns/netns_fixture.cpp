#include "netns_fixture.h"

#include "xdp/program.h"

#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace sluice::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto kStartTimeout = 10s;

}  // namespace

void NetnsTest::SetUp() {
    if (geteuid() != 0) GTEST_SKIP() << kNeedsRoot;
    static unsigned instance = 0;  // several tests in one process (gtest_filter=*) need distinct names
    const unsigned k = instance++;
    const std::string pid = std::to_string(getpid());
    netns_ = kNetnsPrefix + pid + "n" + std::to_string(k);
    server_if_ = kVethPrefix + pid + "s" + std::to_string(k);
    client_if_ = kVethPrefix + pid + "c" + std::to_string(k);
    ASSERT_LE(server_if_.size(), static_cast<std::size_t>(IFNAMSIZ - 1));
    pin_path_ = "/sys/fs/bpf/" + std::string(kPinPrefix) + pid + "-" + std::to_string(k);

    // The nobody sluiced of one test must read the config: a 0755 folder.
    dir_ = std::make_unique<testing::TempFolder>();
    fs::permissions(dir_->path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                      fs::perms::others_read | fs::perms::others_exec);

    try {
        remove_leftovers();
        create_network();
        upstream_port_ = free_port();
        port_ = free_port();
        upstream_ = std::make_unique<ChildProcess>(
            DEMO_UPSTREAM_BINARY, std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(upstream_port_)});
        if (!upstream_->wait_for_stderr("demo_upstream: listening on", kStartTimeout))
            throw std::runtime_error("demo_upstream did not start: " + upstream_->stderr_text());
    } catch (const std::exception& e) {
        FAIL() << "setting up the namespace failed: " << e.what();
    }
}

void NetnsTest::create_network() {
    const std::string ip = tool("ip");
    const std::string subnet = free_subnet("10.213", static_cast<unsigned>(getpid()));
    server_ip_ = subnet + ".1";
    abuser_ip_ = subnet + ".2";
    good_ip_ = subnet + ".3";

    must(run_command(ip, {"netns", "add", netns_}), "ip netns add " + netns_);
    netns_created_ = true;
    must(run_command(ip, {"link", "add", server_if_, "type", "veth", "peer", "name", client_if_, "netns", netns_}),
         "ip link add " + server_if_);
    veth_created_ = true;
    must(run_command(ip, {"addr", "add", server_ip_ + "/24", "dev", server_if_}), "ip addr add " + server_ip_);
    must(run_command(ip, {"link", "set", server_if_, "up"}), "ip link set up " + server_if_);
    for (const std::string& address : {abuser_ip_, good_ip_})
        must(run_command(ip, {"-n", netns_, "addr", "add", address + "/24", "dev", client_if_}),
             "ip addr add " + address);
    must(run_command(ip, {"-n", netns_, "link", "set", client_if_, "up"}), "ip link set up " + client_if_);
    must(run_command(ip, {"-n", netns_, "link", "set", "lo", "up"}), "ip link set up lo");
}

void NetnsTest::TearDown() {
    if (HasFailure()) print_logs();
    // Processes first: sluiced must not re-create anything while it goes.
    others_.clear();
    sluiced_.reset();
    upstream_.reset();
    if (!pin_path_.empty() && fs::exists(pin_path_)) {
        if (!config_file_.empty()) {
            const CommandResult detach = sluiced_command({"--xdp-detach"});
            EXPECT_EQ(detach.exit_code, 0) << "sluiced --xdp-detach: " << detach.err;
        }
        remove_xdp_pins(pin_path_);  // without a config file, or if that failed
    }
    if (!pin_path_.empty()) remove_xdp_pins(pin_path_ + "-nobody");  // should never exist; just in case
    delete_network();
    dir_.reset();
}

void NetnsTest::delete_network() {
    const std::string ip = tool("ip");
    // Deleting one end of a veth deletes both; the namespace goes with its last user.
    if (veth_created_) {
        const CommandResult result = run_command(ip, {"link", "del", server_if_});
        EXPECT_EQ(result.exit_code, 0) << "ip link del " << server_if_ << ": " << result.err;
        veth_created_ = false;
    }
    if (netns_created_) {
        const CommandResult result = run_command(ip, {"netns", "del", netns_});
        EXPECT_EQ(result.exit_code, 0) << "ip netns del " << netns_ << ": " << result.err;
        netns_created_ = false;
    }
}

void NetnsTest::print_logs() {
    for (const std::string& log : sluiced_logs_) std::fprintf(stderr, "--- earlier sluiced stderr:\n%s", log.c_str());
    if (sluiced_) std::fprintf(stderr, "--- sluiced stderr:\n%s", sluiced_->stderr_text().c_str());
    for (const auto& [name, child] : others_)
        std::fprintf(stderr, "--- %s stdout:\n%s--- %s stderr:\n%s", name.c_str(), child->stdout_text().c_str(),
                     name.c_str(), child->stderr_text().c_str());
    if (upstream_) std::fprintf(stderr, "--- demo_upstream stderr:\n%s", upstream_->stderr_text().c_str());
}

nlohmann::json NetnsTest::make_config(const nlohmann::json& quotas, const nlohmann::json& xdp) const {
    nlohmann::json section = {
        {"interfaces", {server_if_}}, {"mode", "native"}, {"ports", {port_}}, {"pin_path", pin_path_}};
    section.update(xdp);
    return {{"listen", {server_ip_ + ":" + std::to_string(port_)}},
            {"upstream", "http://127.0.0.1:" + std::to_string(upstream_port_)},
            {"quotas", quotas},
            {"xdp", section}};
}

void NetnsTest::write_config(const nlohmann::json& config) {
    config_file_ = dir_->write("sluiced.json", config.dump(2)).string();
    fs::permissions(config_file_,
                    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
}

void NetnsTest::start_sluiced(const nlohmann::json& config) {
    if (sluiced_) sluiced_logs_.push_back(sluiced_->stderr_text());
    write_config(config);
    sluiced_ = std::make_unique<ChildProcess>(SLUICED_BINARY, std::vector<std::string>{"--config", config_file_});
    ASSERT_TRUE(sluiced_->wait_for_stderr("sluiced: listening on", kStartTimeout))
        << "sluiced did not start: " << sluiced_->stderr_text();
}

void NetnsTest::kill_sluiced() {
    sluiced_->send_signal(SIGKILL);
    sluiced_->wait_exit(kStartTimeout);
}

int NetnsTest::stop_sluiced() { return sluiced_->terminate(kStartTimeout); }

CommandResult NetnsTest::sluiced_command(const std::vector<std::string>& args) {
    std::vector<std::string> all{"--config", config_file_};
    all.insert(all.end(), args.begin(), args.end());
    return run_command(SLUICED_BINARY, all);
}

CurlResult NetnsTest::curl(const std::string& source, std::uint16_t port, std::chrono::seconds connect_timeout) {
    const std::string url = "http://" + server_ip_ + ":" + std::to_string(port ? port : port_) + "/v1/things";
    return curl_in(netns_, {"-o", "/dev/null", "--interface", source}, url, connect_timeout);
}

std::unique_ptr<ChildProcess> NetnsTest::start_flood(const std::string& source, unsigned long count, std::size_t size) {
    return std::make_unique<ChildProcess>(
        tool("ip"), std::vector<std::string>{"netns", "exec", netns_, UDP_FLOOD_BINARY, "--source", source, "--dest",
                                             server_ip_ + ":" + std::to_string(port_), "--count", std::to_string(count),
                                             "--size", std::to_string(size)});
}

FloodResult NetnsTest::flood_result(ChildProcess& flood) {
    const int code = flood.wait_exit(30s);
    if (code != 0) throw std::runtime_error("udp_flood exited " + std::to_string(code) + ": " + flood.stderr_text());
    FloodResult result;
    std::istringstream line(flood.stdout_text());
    std::string sent_word, elapsed_word;
    if (!(line >> sent_word >> result.sent >> elapsed_word >> result.elapsed))
        throw std::runtime_error("cannot parse udp_flood's output: " + flood.stdout_text());
    return result;
}

XdpCounters NetnsTest::counters() const { return xdp_counters(pin_path_); }

std::optional<sluice_block_entry> NetnsTest::block_entry(const std::string& ip) const {
    return xdp_block_entry(pin_path_, ip);
}

bool NetnsTest::xdp_attached() const {
    const unsigned ifindex = if_nametoindex(server_if_.c_str());
    if (ifindex == 0) throw std::runtime_error("no interface " + server_if_);
    LIBBPF_OPTS(bpf_xdp_query_opts, query);
    if (const int error = bpf_xdp_query(static_cast<int>(ifindex), 0, &query); error != 0)
        throw std::runtime_error("bpf_xdp_query " + server_if_ + ": " + std::to_string(error));
    return query.attach_mode != XDP_ATTACHED_NONE;
}

std::string NetnsTest::ip_link_show() const {
    return run_command(tool("ip"), {"-d", "link", "show", "dev", server_if_}).out;
}

ChildProcess& NetnsTest::keep(std::unique_ptr<ChildProcess> child, std::string name) {
    others_.emplace_back(std::move(name), std::move(child));
    return *others_.back().second;
}

}  // namespace sluice::test
