#include "sluiced/service_manager.h"

#include "common/fd.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace sluice {
namespace {

std::string environment(const char* name) {
    const char* value = std::getenv(name);
    return value ? value : "";
}

// WATCHDOG_USEC, when WATCHDOG_PID is absent or this process.
Nanos watchdog_from_environment() {
    const std::string pid = environment("WATCHDOG_PID");
    if (!pid.empty() && std::strtoll(pid.c_str(), nullptr, 10) != getpid()) return 0;
    const std::string usec = environment("WATCHDOG_USEC");
    char* end = nullptr;
    const long long micros = std::strtoll(usec.c_str(), &end, 10);
    if (usec.empty() || *end != '\0' || micros <= 0) return 0;
    return static_cast<Nanos>(micros) * 1000;
}

}  // namespace

ServiceManager ServiceManager::from_environment() {
    return ServiceManager(environment("NOTIFY_SOCKET"), watchdog_from_environment(),
                          !environment("INVOCATION_ID").empty());
}

ServiceManager::ServiceManager(std::string socket, Nanos watchdog_interval, bool started_by_systemd)
    : socket_(std::move(socket)),
      watchdog_interval_(watchdog_interval),
      started_by_systemd_(started_by_systemd) {}

bool ServiceManager::notify(std::string_view message, std::string& error) const {
    if (socket_.empty()) return true;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_.size() >= sizeof address.sun_path || (socket_[0] != '/' && socket_[0] != '@')) {
        error = "NOTIFY_SOCKET is not a socket path: " + socket_;
        return false;
    }
    std::memcpy(address.sun_path, socket_.data(), socket_.size());
    if (socket_[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size());

    const Fd sender(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sender ||
        ::sendto(sender.get(), message.data(), message.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&address), length) != static_cast<ssize_t>(message.size())) {
        error = "notifying " + socket_ + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

}  // namespace sluice
