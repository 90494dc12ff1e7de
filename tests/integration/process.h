// A child process for integration tests: started with its stdout and stderr
// captured, stopped with a signal, killed if the test forgets it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sluice::test {

class ChildProcess {
public:
    // Starts `program` with `args`; throws std::system_error if it cannot.
    ChildProcess(const std::string& program, const std::vector<std::string>& args);
    ~ChildProcess();  // SIGKILL if still running

    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // Waits until stderr contains `text`. False on timeout, or when the child
    // closed its output (exited) without writing it.
    bool wait_for_stderr(std::string_view text, std::chrono::milliseconds timeout);

    // Waits for the child to exit by itself and returns its exit code
    // (128 + signal when a signal ended it). Kills it after `timeout`.
    int wait_exit(std::chrono::milliseconds timeout);

    void send_signal(int signal);
    pid_t pid() const { return pid_; }

    // Sends SIGTERM, then wait_exit(timeout).
    int terminate(std::chrono::milliseconds timeout);

    std::string stdout_text() const;
    std::string stderr_text() const;

private:
    void read_output(int out_fd, int err_fd);

    pid_t pid_ = -1;
    bool reaped_ = false;
    int exit_code_ = -1;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::string stdout_;
    std::string stderr_;
    bool closed_ = false;  // both pipes reached EOF
    std::thread reader_;
};

}  // namespace sluice::test
