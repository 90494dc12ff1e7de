// A real Redis Cluster for tests: N primaries (redis-server child processes
// on free loopback ports, in a temporary folder) joined by
// `redis-cli --cluster create`, and a way to send them a command and read
// the reply as hiredis parses it. Header-only: tests/CMakeLists.txt builds
// only the test folders' .cpp files.
#pragma once

#include "common/fd.h"
#include "tests/support/temp_folder.h"

#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace sluice::testing {

struct FreeReply {
    void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, FreeReply>;

// The one reply in `bytes` (RESP), as hiredis' reader builds it; throws when
// the bytes are not exactly one whole reply.
inline Reply parse_reply(std::string_view bytes) {
    const std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(), redisReaderFree);
    void* reply = nullptr;
    if (redisReaderFeed(reader.get(), bytes.data(), bytes.size()) != REDIS_OK ||
        redisReaderGetReply(reader.get(), &reply) != REDIS_OK || reply == nullptr)
        throw std::runtime_error("not one whole RESP reply: " + std::string(bytes));
    return Reply(static_cast<redisReply*>(reply));
}

namespace detail {

[[noreturn]] inline void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

inline bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::istringstream folders(path ? path : "/usr/bin:/bin");
    for (std::string folder; std::getline(folders, folder, ':');)
        if (!folder.empty() && ::access((folder + "/" + program).c_str(), X_OK) == 0) return true;
    return false;
}

// Starts `args[0]` (found on PATH) with its output in `log`; the child dies
// with the test.
inline pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& log) {
    std::vector<char*> argv;
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) throw_errno("open " + log.string());
    const pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
        ::close_range(3, ~0U, 0);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out);
    return pid;
}

// Loopback ports nothing listens on now, all different (each socket is kept
// bound until all are picked).
inline std::vector<std::uint16_t> free_ports(std::size_t count) {
    std::vector<int> sockets;
    std::vector<std::uint16_t> ports;
    for (std::size_t i = 0; i < count; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw_errno("socket");
        sockets.push_back(fd);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
            throw_errno("bind");
        ports.push_back(ntohs(address.sin_port));
    }
    for (const int fd : sockets) ::close(fd);
    return ports;
}

}  // namespace detail

// Sends `args` as one command to 127.0.0.1:`port` on a new connection and
// returns the reply; throws when the connection fails or no whole reply
// comes within 5 s.
inline Reply redis_command(std::uint16_t port, const std::vector<std::string>& args) {
    const Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!socket) detail::throw_errno("socket");
    const int fd = socket.get();
    const timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        detail::throw_errno("connect to 127.0.0.1:" + std::to_string(port));

    std::string request = "*" + std::to_string(args.size()) + "\r\n";
    for (const std::string& arg : args) request += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
    for (std::string_view rest = request; !rest.empty();) {
        const ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n < 0) detail::throw_errno("send to 127.0.0.1:" + std::to_string(port));
        rest.remove_prefix(static_cast<std::size_t>(n));
    }

    const std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(), redisReaderFree);
    for (;;) {
        void* reply = nullptr;
        if (redisReaderGetReply(reader.get(), &reply) != REDIS_OK)
            throw std::runtime_error("bad RESP from 127.0.0.1:" + std::to_string(port));
        if (reply) return Reply(static_cast<redisReply*>(reply));
        char buffer[16384];
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n < 0) detail::throw_errno("receive from 127.0.0.1:" + std::to_string(port));
        if (n == 0) throw std::runtime_error("127.0.0.1:" + std::to_string(port) + " closed the connection");
        redisReaderFeed(reader.get(), buffer, static_cast<std::size_t>(n));
    }
}

class RedisCluster {
public:
    // Why a cluster cannot be started here (for GTEST_SKIP); nullopt when it can.
    static std::optional<std::string> unavailable() {
        for (const char* program : {"redis-server", "redis-cli"})
            if (!detail::on_path(program))
                return std::string(program) + " is not installed (scripts/install-deps.sh installs it)";
        return std::nullopt;
    }

    // Starts `primaries` nodes (at least 3, as redis-cli requires), spreads
    // the slots over them and returns once every node says cluster_state:ok.
    // Throws, with the nodes' and redis-cli's output, when a step fails.
    explicit RedisCluster(std::size_t primaries) {
        try {
            start(primaries);
        } catch (...) {
            stop();
            throw;
        }
    }
    ~RedisCluster() { stop(); }
    RedisCluster(const RedisCluster&) = delete;
    RedisCluster& operator=(const RedisCluster&) = delete;

    // The nodes' client ports, on 127.0.0.1.
    const std::vector<std::uint16_t>& ports() const { return ports_; }

    // Kills every node and reaps it.
    void stop() {
        for (const pid_t pid : pids_) ::kill(pid, SIGKILL);
        for (const pid_t pid : pids_) ::waitpid(pid, nullptr, 0);
        pids_.clear();
    }

private:
    void start(std::size_t primaries) {
        // Each node's cluster bus gets its own port too (cluster-port).
        const std::vector<std::uint16_t> ports = detail::free_ports(2 * primaries);
        ports_.assign(ports.begin(), ports.begin() + static_cast<std::ptrdiff_t>(primaries));
        for (std::size_t i = 0; i < primaries; ++i) {
            const std::string port = std::to_string(ports[i]);
            pids_.push_back(detail::spawn(
                {"redis-server", "--port", port, "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-port",
                 std::to_string(ports[primaries + i]), "--cluster-config-file", "nodes-" + port + ".conf", "--save", "",
                 "--appendonly", "no", "--dir", folder_.path().string(), "--daemonize", "no"},
                folder_ / ("redis-" + port + ".log")));
        }
        for (const std::uint16_t port : ports_)
            wait_for(port, [](const redisReply& reply) { return reply.type == REDIS_REPLY_STATUS; }, {"PING"});

        std::vector<std::string> create{"redis-cli", "--cluster", "create"};
        for (const std::uint16_t port : ports_) create.push_back("127.0.0.1:" + std::to_string(port));
        for (const char* arg : {"--cluster-replicas", "0", "--cluster-yes"}) create.push_back(arg);
        int status = 0;
        const pid_t cli = detail::spawn(create, folder_ / "cluster-create.log");
        if (::waitpid(cli, &status, 0) != cli || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail("redis-cli --cluster create failed");

        const auto ok = [](const redisReply& reply) {
            return reply.type == REDIS_REPLY_STRING &&
                   std::string_view(reply.str, reply.len).find("cluster_state:ok") != std::string_view::npos;
        };
        for (const std::uint16_t port : ports_) wait_for(port, ok, {"CLUSTER", "INFO"});
    }

    template <class Ready>
    void wait_for(std::uint16_t port, Ready ready, const std::vector<std::string>& command) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            try {
                if (ready(*redis_command(port, command))) return;
            } catch (const std::system_error&) {
                // Not listening yet.
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        fail("127.0.0.1:" + std::to_string(port) + " was not ready for " + command.front() + " within 10 s");
    }

    // The temporary folder goes with the exception, so the logs go in its text.
    [[noreturn]] void fail(const std::string& what) {
        stop();
        std::string text = "Redis Cluster: " + what;
        for (const auto& entry : std::filesystem::directory_iterator(folder_.path()))
            if (entry.path().extension() == ".log")
                text += "\n--- " + entry.path().filename().string() + ":\n" + TempFolder::read(entry.path());
        throw std::runtime_error(text);
    }

    TempFolder folder_;
    std::vector<std::uint16_t> ports_;
    std::vector<pid_t> pids_;
};

}  // namespace sluice::testing
