#include "sluiced/service_manager.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace sluice {
namespace {

// A datagram socket standing in for systemd's notify socket.
class NotifySocket {
public:
    explicit NotifySocket(const std::string& name) : name_(name), fd_(socket(AF_UNIX, SOCK_DGRAM, 0)) {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        name.copy(address.sun_path, name.size());
        if (name[0] == '@') address.sun_path[0] = '\0';
        const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
        if (bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0) ADD_FAILURE() << "bind " << name;
        timeval wait{2, 0};
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    }
    ~NotifySocket() {
        close(fd_);
        if (name_[0] == '/') std::filesystem::remove(name_);
    }
    std::string receive() const {
        char buffer[4096];
        const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
        return n < 0 ? "(nothing)" : std::string(buffer, static_cast<std::size_t>(n));
    }

private:
    std::string name_;
    int fd_;
};

std::string unique_name(const std::string& base) { return base + std::to_string(getpid()); }

TEST(ServiceManagerTest, SendsOneDatagramToAPathSocket) {
    const std::string path = (std::filesystem::temp_directory_path() / unique_name("sluice-notify-")).string();
    const NotifySocket socket(path);
    const ServiceManager manager(path, 0, true);
    std::string error;
    EXPECT_TRUE(manager.notify("READY=1\nSTATUS=serving", error)) << error;
    EXPECT_EQ(socket.receive(), "READY=1\nSTATUS=serving");
}

TEST(ServiceManagerTest, SendsToAnAbstractSocket) {
    const std::string name = unique_name("@sluice-notify-");
    const NotifySocket socket(name);
    std::string error;
    EXPECT_TRUE(ServiceManager(name, 0, true).notify("WATCHDOG=1", error)) << error;
    EXPECT_EQ(socket.receive(), "WATCHDOG=1");
}

TEST(ServiceManagerTest, WithoutASocketNothingIsSentAndNothingFails) {
    std::string error;
    EXPECT_TRUE(ServiceManager("", 0, false).notify("READY=1", error));
    EXPECT_EQ(error, "");
}

TEST(ServiceManagerTest, SaysWhyItCouldNotTell) {
    std::string error;
    EXPECT_FALSE(ServiceManager("/nonexistent/notify", 0, true).notify("READY=1", error));
    EXPECT_EQ(error, "notifying /nonexistent/notify: No such file or directory");
    EXPECT_FALSE(ServiceManager("relative", 0, true).notify("READY=1", error));
    EXPECT_EQ(error, "NOTIFY_SOCKET is not a socket path: relative");
}

class ServiceEnvironmentTest : public ::testing::Test {
protected:
    void TearDown() override {
        for (const char* name : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "INVOCATION_ID"}) unsetenv(name);
    }
};

TEST_F(ServiceEnvironmentTest, WatchdogIsOnForThisProcess) {
    setenv("WATCHDOG_USEC", "10000000", 1);
    setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
    EXPECT_EQ(ServiceManager::from_environment().watchdog_interval(), 10'000'000'000);
}

TEST_F(ServiceEnvironmentTest, WatchdogWithoutAPidIsOn) {
    setenv("WATCHDOG_USEC", "500000", 1);
    EXPECT_EQ(ServiceManager::from_environment().watchdog_interval(), 500'000'000);
}

TEST_F(ServiceEnvironmentTest, WatchdogMeantForAnotherProcessIsOff) {
    setenv("WATCHDOG_USEC", "10000000", 1);
    setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
    EXPECT_EQ(ServiceManager::from_environment().watchdog_interval(), 0);
}

TEST_F(ServiceEnvironmentTest, MalformedWatchdogIsOff) {
    for (const char* value : {"", "10s", "-5", "0"}) {
        setenv("WATCHDOG_USEC", value, 1);
        EXPECT_EQ(ServiceManager::from_environment().watchdog_interval(), 0) << value;
    }
}

TEST_F(ServiceEnvironmentTest, InvocationIdMeansSystemdStartedIt) {
    EXPECT_FALSE(ServiceManager::from_environment().started_by_systemd());
    setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
    EXPECT_TRUE(ServiceManager::from_environment().started_by_systemd());
}

}  // namespace
}  // namespace sluice
