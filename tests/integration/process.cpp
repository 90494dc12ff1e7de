#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace sluice::test {

namespace {

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

}  // namespace

ChildProcess::ChildProcess(const std::string& program, const std::vector<std::string>& args) {
    int out[2];
    int err[2];
    if (pipe2(out, O_CLOEXEC) != 0) throw_errno("pipe2");
    if (pipe2(err, O_CLOEXEC) != 0) throw_errno("pipe2");

    // Built before fork: the child may only make async-signal-safe calls.
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);

    pid_ = fork();
    if (pid_ < 0) throw_errno("fork");
    if (pid_ == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        // Sockets of the test (not close-on-exec) must not stay open in the child.
        close_range(3, ~0U, 0);
        execv(program.c_str(), argv.data());
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    reader_ = std::thread([this, o = out[0], e = err[0]] { read_output(o, e); });
}

ChildProcess::~ChildProcess() {
    if (!reaped_) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    reader_.join();
}

void ChildProcess::read_output(int out_fd, int err_fd) {
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    std::string* sinks[2] = {&stdout_, &stderr_};
    int open = 2;
    while (open > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            char chunk[4096];
            const ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;  // poll ignores negative descriptors
                --open;
                continue;
            }
            std::lock_guard lock(mutex_);
            sinks[i]->append(chunk, static_cast<std::size_t>(n));
            changed_.notify_all();
        }
    }
    std::lock_guard lock(mutex_);
    closed_ = true;
    changed_.notify_all();
}

bool ChildProcess::wait_for_stderr(std::string_view text, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return stderr_.find(text) != std::string::npos || closed_; });
    return stderr_.find(text) != std::string::npos;
}

int ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
    if (reaped_) return exit_code_;
    {
        // The pipes close when the child exits: wait for that, not on a timer.
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, timeout, [&] { return closed_; })) kill(pid_, SIGKILL);
    }
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
    reaped_ = true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
}

void ChildProcess::send_signal(int signal) {
    if (!reaped_) kill(pid_, signal);
}

int ChildProcess::terminate(std::chrono::milliseconds timeout) {
    send_signal(SIGTERM);
    return wait_exit(timeout);
}

std::string ChildProcess::stdout_text() const {
    std::lock_guard lock(mutex_);
    return stdout_;
}

std::string ChildProcess::stderr_text() const {
    std::lock_guard lock(mutex_);
    return stderr_;
}

}  // namespace sluice::test
