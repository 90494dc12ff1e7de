// A real Redis Cluster for tests: N primaries (redis-server 7 child
// processes on free loopback ports, in a temporary folder) joined as
// `redis-cli --cluster create` joins them, and a way to send them a command
// and read the reply as hiredis parses it. Header-only: tests/CMakeLists.txt builds
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
        if (!detail::on_path("redis-server"))
            return std::string("redis-server is not installed (scripts/install-deps.sh installs it)");
        return std::nullopt;
    }

    // Starts `primaries` nodes, spreads the slots over them in equal ranges
    // and returns once every node says cluster_state:ok. Throws, with the
    // nodes' output, when a step fails.
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

        // What `redis-cli --cluster create` sends, sent here: it checks the
        // join once a second, which made a start take 2 to 8 s; this takes
        // the 2 s a new primary waits before it says cluster_state:ok.
        for (std::size_t i = 0; i < primaries; ++i) {
            expect_ok(ports_[i], {"CLUSTER", "ADDSLOTSRANGE", std::to_string(16384 * i / primaries),
                                  std::to_string(16384 * (i + 1) / primaries - 1)});
            // Distinct epochs: no collision for the nodes to settle first.
            expect_ok(ports_[i], {"CLUSTER", "SET-CONFIG-EPOCH", std::to_string(i + 1)});
        }
        // Each pair meets directly: learning of a node by gossip can take seconds.
        for (std::size_t i = 0; i < primaries; ++i)
            for (std::size_t j = i + 1; j < primaries; ++j)
                expect_ok(ports_[i], {"CLUSTER", "MEET", "127.0.0.1", std::to_string(ports[j]),
                                      std::to_string(ports[primaries + j])});

        const auto ok = [](const redisReply& reply) {
            return reply.type == REDIS_REPLY_STRING &&
                   std::string_view(reply.str, reply.len).find("cluster_state:ok") != std::string_view::npos;
        };
        for (const std::uint16_t port : ports_) wait_for(port, ok, {"CLUSTER", "INFO"});
    }

    void expect_ok(std::uint16_t port, const std::vector<std::string>& command) {
        const Reply reply = redis_command(port, command);
        if (reply->type != REDIS_REPLY_STATUS)
            fail("127.0.0.1:" + std::to_string(port) + " answered " + command[0] + " " + command[1] + " with " +
                 std::string(reply->str ? reply->str : "", reply->len));
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
