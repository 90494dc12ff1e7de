// A real redis-server for a test: a child process on a free loopback port
// (or on an address of the test's choice), with its files in a temporary
// folder, nothing saved to disk, stopped when the test ends; and
// redis_call(), the tests' way to send one a command. Tests that need one
// derive their fixture from RedisServerTest, which skips them where
// redis-server is not installed.
#pragma once

#include "common/fd.h"
#include "redis/blocking_client.h"
#include "redis/redis_url.h"
#include "redis/reply.h"
#include "tests/support/temp_folder.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace sluice::testing {

inline constexpr std::string_view kRedisServerMissing =
    "redis-server is not installed (scripts/install-deps.sh installs it)";

// The redis-server on PATH; empty when there is none.
inline std::string redis_server_program() {
    const char* path = std::getenv("PATH");
    std::string_view folders = path ? path : "/usr/bin:/bin";
    while (!folders.empty()) {
        const std::size_t colon = folders.find(':');
        const std::filesystem::path candidate = std::filesystem::path(folders.substr(0, colon)) / "redis-server";
        if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
        folders.remove_prefix(colon == std::string_view::npos ? folders.size() : colon + 1);
    }
    return {};
}

// `count` loopback TCP ports nothing listens on (now), all different: each
// is kept bound until all are picked.
inline std::vector<std::uint16_t> free_loopback_ports(std::size_t count) {
    std::vector<Fd> sockets;
    std::vector<std::uint16_t> ports;
    while (ports.size() < count) {
        Fd& fd = sockets.emplace_back(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!fd) throw std::system_error(errno, std::generic_category(), "socket");
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
            throw std::system_error(errno, std::generic_category(), "bind 127.0.0.1:0");
        ports.push_back(ntohs(address.sin_port));
    }
    return ports;
}

inline std::uint16_t free_loopback_port() { return free_loopback_ports(1).front(); }

// Sends the command made of `args` to the Redis server at `endpoint` (or at
// 127.0.0.1:`port`), on a connection of its own, and returns the reply (error
// replies too); throws std::runtime_error when no reply comes within `timeout`.
inline RedisReplyPtr redis_call(const RedisEndpoint& endpoint, std::initializer_list<std::string_view> args,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    RedisBlockingClient client(endpoint, "", timeout);
    return client.call(args, timeout);
}
inline RedisReplyPtr redis_call(std::uint16_t port, std::initializer_list<std::string_view> args,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return redis_call(RedisEndpoint{"127.0.0.1", port, "", 0}, args, timeout);
}

class RedisServer {
public:
    // `extra_args` as on redis-server's command line: {"--requirepass", "x"};
    // on `port` if given, else on a free one; bound to `address` (an
    // interface's IPv4 address; the port is picked free on loopback).
    explicit RedisServer(std::vector<std::string> extra_args = {}, std::uint16_t port = 0,
                         std::string address = "127.0.0.1")
        : program_(redis_server_program()),
          address_(std::move(address)),
          port_(port != 0 ? port : free_loopback_port()) {
        if (program_.empty()) throw std::runtime_error(std::string(kRedisServerMissing));
        args_ = {program_, "--port", std::to_string(port_), "--bind", address_, "--dir", folder_.path().string()};
        // Nothing on disk. --hz 100: a SIGTERM is acted on at the next tick
        // of the server's timer, within 10 ms instead of 100.
        for (const char* arg : {"--save", "", "--appendonly", "no", "--daemonize", "no", "--hz", "100"})
            args_.emplace_back(arg);
        args_.insert(args_.end(), extra_args.begin(), extra_args.end());
        start();
    }
    ~RedisServer() { stop(); }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    std::uint16_t port() const { return port_; }
    RedisEndpoint endpoint() const { return RedisEndpoint{address_, port_, "", 0}; }
    // redis_call() to this server.
    RedisReplyPtr call(std::initializer_list<std::string_view> args) const { return redis_call(endpoint(), args); }
    // What it wrote to its standard output and error.
    std::string log() const { return TempFolder::read(folder_ / "redis.log"); }

    // SIGSTOP, SIGCONT, or SIGKILL (which also reaps it: restart() may follow).
    void kill(int signal) {
        if (pid_ < 0) return;
        ::kill(pid_, signal);
        if (signal == SIGKILL) reap();
    }
    // A new server on the same port (its data gone: nothing is saved).
    void restart() {
        stop();
        start();
    }

private:
    void start() {
        std::vector<char*> argv;
        for (std::string& arg : args_) argv.push_back(arg.data());
        argv.push_back(nullptr);
        const std::string log_file = (folder_ / "redis.log").string();
        const int log_fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log_fd < 0) throw std::system_error(errno, std::generic_category(), "open " + log_file);
        pid_ = fork();
        if (pid_ == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
            dup2(log_fd, STDOUT_FILENO);
            dup2(log_fd, STDERR_FILENO);
            close_range(3, ~0U, 0);
            execv(argv[0], argv.data());
            _exit(127);
        }
        close(log_fd);
        if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");

        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!answers_ping()) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("redis-server exited at start: " + log());
            }
            if (std::chrono::steady_clock::now() > deadline) {
                stop();
                throw std::runtime_error("redis-server did not answer PING within 10s: " + log());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }

    void stop() {
        if (pid_ < 0) return;
        ::kill(pid_, SIGCONT);  // a stopped server would not see SIGTERM
        ::kill(pid_, SIGTERM);
        reap();
    }

    void reap() {
        while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {}
        pid_ = -1;
    }

    // Any reply to PING (-NOAUTH too) means it is serving.
    bool answers_ping() const {
        try {
            redis_call(endpoint(), {"PING"}, std::chrono::milliseconds(500));
            return true;
        } catch (const std::runtime_error&) {
            return false;
        }
    }

    TempFolder folder_;
    std::string program_;
    std::string address_;
    std::uint16_t port_;
    std::vector<std::string> args_;
    pid_t pid_ = -1;
};

// The fixture of tests that need redis-server: they skip, saying why, where
// it is not installed.
class RedisServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (redis_server_program().empty()) GTEST_SKIP() << kRedisServerMissing;
    }
};

}  // namespace sluice::testing
