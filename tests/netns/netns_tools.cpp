#include "netns_tools.h"

#include "process.h"

#include "common/fd.h"
#include "xdp/program.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <charconv>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sluice::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// The pid in "<prefix><pid>..." or 0.
pid_t pid_in(std::string_view name, std::string_view prefix) {
    if (!name.starts_with(prefix)) return 0;
    name.remove_prefix(prefix.size());
    pid_t pid = 0;
    std::from_chars(name.data(), name.data() + name.size(), pid);
    return pid;
}

bool alive(pid_t pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

XdpMaps open_maps(const std::string& pin_path) {
    Checked<XdpMaps> maps = XdpMaps::open_pinned(pin_path);
    if (!maps.ok()) throw std::runtime_error("no XDP maps pinned under " + pin_path + ": " + maps.error());
    return std::move(maps).value();
}

sockaddr_in ipv4_address(const std::string& ip, std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    if (inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) throw std::runtime_error("not an IPv4 address: " + ip);
    return address;
}

// tcp_connects in the calling thread, already inside the namespace.
bool connects_from_here(const std::string& source, const std::string& destination, std::uint16_t port,
                        std::chrono::milliseconds timeout) {
    const Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    const sockaddr_in from = ipv4_address(source, 0);
    if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0)
        throw std::runtime_error("bind " + source + ": " + std::strerror(errno));
    const sockaddr_in to = ipv4_address(destination, port);
    if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0) return true;
    if (errno != EINPROGRESS) return false;
    pollfd wait{fd.get(), POLLOUT, 0};
    if (poll(&wait, 1, static_cast<int>(timeout.count())) != 1) return false;
    int error = 0;
    socklen_t length = sizeof error;
    return getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
}

}  // namespace

CommandResult run_command(const std::string& program, const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout) {
    ChildProcess child(program, args);
    CommandResult result;
    result.exit_code = child.wait_exit(timeout);
    result.out = child.stdout_text();
    result.err = child.stderr_text();
    return result;
}

void must(const CommandResult& result, const std::string& what) {
    if (result.exit_code != 0)
        throw std::runtime_error(what + " failed (exit " + std::to_string(result.exit_code) + "): " + result.err);
}

std::string find_tool(const std::string& name) {
    for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
        const fs::path candidate = fs::path(dir) / name;
        if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return {};
}

std::string tool(const std::string& name) {
    std::string path = find_tool(name);
    if (path.empty()) throw std::runtime_error("cannot find " + name);
    return path;
}

void remove_leftovers() {
    const std::string ip = tool("ip");
    std::istringstream namespaces(run_command(ip, {"netns", "list"}).out);
    for (std::string line; std::getline(namespaces, line);) {
        const std::string name = line.substr(0, line.find(' '));
        if (const pid_t pid = pid_in(name, kNetnsPrefix); pid > 0 && !alive(pid))
            run_command(ip, {"netns", "del", name});
    }
    for (const auto& entry : fs::directory_iterator("/sys/class/net")) {
        const std::string name = entry.path().filename().string();
        if (const pid_t pid = pid_in(name, kVethPrefix); pid > 0 && !alive(pid)) run_command(ip, {"link", "del", name});
    }
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/sys/fs/bpf", error)) {
        const std::string name = entry.path().filename().string();
        if (const pid_t pid = pid_in(name, kPinPrefix); pid > 0 && !alive(pid)) remove_xdp_pins(entry.path().string());
    }
}

std::string free_subnet(const std::string& first_two_octets, unsigned start) {
    const std::string used = run_command(tool("ip"), {"-4", "-o", "addr", "show"}).out;
    for (unsigned i = 0; i < 250; ++i) {
        const std::string subnet = first_two_octets + "." + std::to_string((start + i) % 250 + 1);
        if (used.find(" " + subnet + ".") == std::string::npos) return subnet;
    }
    throw std::runtime_error("no free /24 in " + first_two_octets + ".0.0/16");
}

CurlResult curl_in(const std::string& netns, const std::vector<std::string>& options, const std::string& url,
                   std::chrono::seconds connect_timeout) {
    // The body, then the status on a line of its own.
    std::vector<std::string> args{"netns",
                                  "exec",
                                  netns,
                                  "curl",
                                  "-sS",
                                  "-w",
                                  "\n%{http_code}",
                                  "--max-time",
                                  std::to_string(connect_timeout.count() + 4),
                                  "--connect-timeout",
                                  std::to_string(connect_timeout.count())};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back(url);
    const CommandResult result = run_command(tool("ip"), args, connect_timeout + 10s);
    CurlResult curl{result.exit_code, 0, {}};
    const std::size_t last_line = result.out.rfind('\n');
    if (last_line == std::string::npos) return curl;
    curl.body = result.out.substr(0, last_line);
    std::from_chars(result.out.data() + last_line + 1, result.out.data() + result.out.size(), curl.status);
    return curl;
}

bool tcp_connects(const std::string& netns, const std::string& source, const std::string& destination,
                  std::uint16_t port, std::chrono::milliseconds timeout) {
    // A thread of its own enters the namespace (the test's other threads stay
    // where they are) and ends with it.
    bool connected = false;
    std::string error;
    std::thread([&] {
        try {
            const std::string path = "/run/netns/" + netns;
            const Fd namespace_fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!namespace_fd || setns(namespace_fd.get(), CLONE_NEWNET) != 0)
                throw std::runtime_error("entering " + path + ": " + std::strerror(errno));
            connected = connects_from_here(source, destination, port, timeout);
        } catch (const std::exception& e) {
            error = e.what();
        }
    }).join();
    if (!error.empty()) throw std::runtime_error(error);
    return connected;
}

XdpCounters xdp_counters(const std::string& pin_path) { return open_maps(pin_path).read_stats().slots[0]; }

std::optional<sluice_block_entry> xdp_block_entry(const std::string& pin_path, const std::string& ip) {
    // The program keys IPv4 sources IPv4-mapped.
    const std::optional<IpAddress> mapped = parse_ip("::ffff:" + ip);
    if (!mapped) throw std::runtime_error("not an IPv4 address: " + ip);
    for (const BlockedSource& blocked : open_maps(pin_path).blocked()) {
        if (address_of(blocked.key) == *mapped) return blocked.entry;
    }
    return std::nullopt;
}

std::set<std::string> xdp_blocked_addresses(const std::string& pin_path) {
    std::set<std::string> addresses;
    for (const BlockedSource& blocked : open_maps(pin_path).blocked())
        addresses.insert(address_of(blocked.key).to_string());
    return addresses;
}

}  // namespace sluice::test
