// A real redis-server for a test: a child process on a free loopback port,
// with its files in a temporary folder, nothing saved to disk, stopped when
// the test ends. Tests that need one derive their fixture from
// RedisServerTest, which skips them where redis-server is not installed.
#pragma once

#include "redis/redis_url.h"
#include "tests/support/temp_folder.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
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

// A loopback TCP port nothing listens on (now).
inline std::uint16_t free_loopback_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    const int error = errno;
    close(fd);
    if (!ok) throw std::system_error(error, std::generic_category(), "bind 127.0.0.1:0");
    return ntohs(address.sin_port);
}

class RedisServer {
public:
    // `extra_args` as on redis-server's command line: {"--requirepass", "x"}.
    explicit RedisServer(std::vector<std::string> extra_args = {})
        : program_(redis_server_program()),
          port_(free_loopback_port()) {
        if (program_.empty()) throw std::runtime_error(std::string(kRedisServerMissing));
        args_ = {program_, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--dir", folder_.path().string()};
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
    RedisEndpoint endpoint() const { return RedisEndpoint{"127.0.0.1", port_, "", 0}; }

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
        const std::string log = (folder_ / "redis.log").string();
        const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log_fd < 0) throw std::system_error(errno, std::generic_category(), "open " + log);
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
                throw std::runtime_error("redis-server exited at start: " + TempFolder::read(log));
            }
            if (std::chrono::steady_clock::now() > deadline) {
                stop();
                throw std::runtime_error("redis-server did not answer PING within 10s: " + TempFolder::read(log));
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
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        const timeval wait{0, 500'000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port_);
        char reply[64];
        const bool answered = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                              write(fd, "PING\r\n", 6) == 6 && read(fd, reply, sizeof reply) > 0;
        close(fd);
        return answered;
    }

    TempFolder folder_;
    std::string program_;
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
