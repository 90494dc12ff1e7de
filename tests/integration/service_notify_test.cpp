// sluiced under systemd's notify protocol, with a test socket in place of
// systemd: READY=1 only once it serves, a STATUS= summary, RELOADING=1 and
// READY=1 around a reload, watchdog pings, STOPPING=1 on the way out.
#include "harness.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>

#include <csignal>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace sluice::test {
namespace {

// Stands in for systemd: a datagram socket whose path sluiced gets in
// $NOTIFY_SOCKET (children inherit the environment).
class FakeSystemd {
public:
    explicit FakeSystemd(const testing::TempFolder& dir, const std::string& watchdog_usec = "")
        : path_((dir.path() / "notify").string()),
          fd_(socket(AF_UNIX, SOCK_DGRAM, 0)) {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        path_.copy(address.sun_path, sizeof address.sun_path - 1);
        if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) ADD_FAILURE() << "bind " << path_;
        setenv("NOTIFY_SOCKET", path_.c_str(), 1);
        if (!watchdog_usec.empty()) setenv("WATCHDOG_USEC", watchdog_usec.c_str(), 1);
    }
    ~FakeSystemd() {
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        close(fd_);
    }

    // The next message that is not a periodic one (the status summary alone,
    // a watchdog ping).
    std::string next_event() {
        for (;;) {
            const std::string message = receive(std::chrono::seconds(10));
            if (message != "WATCHDOG=1" && !message.starts_with("STATUS=serving ")) return message;
        }
    }
    // Counts watchdog pings over `period`.
    int pings_during(std::chrono::milliseconds period) {
        const auto end = std::chrono::steady_clock::now() + period;
        int pings = 0;
        while (std::chrono::steady_clock::now() < end) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
            if (receive(std::max(left, std::chrono::milliseconds(1))) == "WATCHDOG=1") ++pings;
        }
        return pings;
    }

private:
    std::string receive(std::chrono::milliseconds timeout) {
        const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
        timeval wait{static_cast<time_t>(micros / 1'000'000), static_cast<suseconds_t>(micros % 1'000'000)};
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
        char buffer[4096];
        const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
        return n < 0 ? "(nothing)" : std::string(buffer, static_cast<std::size_t>(n));
    }

    std::string path_;
    int fd_;
};

const nlohmann::json kConfig = {{"quotas", {{{"name", "per-ip"}, {"path", ""}, {"rate", 1}, {"interval", "1m"}}}}};

std::string status(std::uint16_t port, int forwarded, int limited, const std::string& tail = "") {
    return "STATUS=serving 127.0.0.1:" + std::to_string(port) + ", 1 quotas, XDP off; " + std::to_string(forwarded) +
           " forwarded, " + std::to_string(limited) + " limited, 0 clients blocked" + tail;
}

TEST(ServiceNotify, ReadyOnlyOnceServingThenReloadsAndStopping) {
    testing::TempFolder socket_dir;
    FakeSystemd systemd(socket_dir);
    Deployment sluice(kConfig);

    EXPECT_EQ(systemd.next_event(), "READY=1\n" + status(sluice.port(), 0, 0));
    HttpClient client = sluice.client();
    EXPECT_EQ(client.get("/a").result_int(), 200);
    EXPECT_EQ(client.get("/a").result_int(), 429);

    sluice.sluiced().send_signal(SIGHUP);
    EXPECT_EQ(systemd.next_event(), "RELOADING=1");
    EXPECT_EQ(systemd.next_event(), "READY=1\n" + status(sluice.port(), 1, 1));

    sluice.write_config_text("{\"listen\": [");
    sluice.sluiced().send_signal(SIGHUP);
    EXPECT_EQ(systemd.next_event(), "RELOADING=1");
    EXPECT_EQ(systemd.next_event(),
              "READY=1\n" + status(sluice.port(), 1, 1, "; last reload failed (config kept, see the journal)"));

    EXPECT_EQ(sluice.stop_sluiced(), 0);
    EXPECT_EQ(systemd.next_event(), "STOPPING=1\nSTATUS=stopping");
}

// sluiced under the fake systemd, once it said READY=1.
struct ReadySluice {
    explicit ReadySluice(const nlohmann::json& config, const std::string& watchdog_usec = "")
        : systemd(dir, watchdog_usec),
          sluice(config) {
        EXPECT_TRUE(systemd.next_event().starts_with("READY=1\n"));
    }
    testing::TempFolder dir;
    FakeSystemd systemd;
    Deployment sluice;
};

TEST(ServiceNotify, ReadyMeansTheListenerAcceptsAlready) {
    ReadySluice ready(kConfig);
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket socket(ioc);
    boost::system::error_code error;
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), ready.sluice.port()}, error);
    EXPECT_FALSE(error) << error.message();
}

TEST(ServiceNotify, PingsTheWatchdogWhileItsLoopsAnswer) {
    testing::TempFolder state;
    nlohmann::json with_admin = kConfig;  // the admin API's loop must answer too
    with_admin["admin"] = {{"listen", "127.0.0.1:" + std::to_string(free_port())},
                           {"token_file", (state.path() / "admin.token").string()}};
    with_admin["state_dir"] = (state.path() / "state").string();
    ReadySluice ready(with_admin, "300000");  // WatchdogSec=300ms: a heartbeat every 100 ms
    // About 10 in a second; a loaded test machine may delay some.
    EXPECT_GE(ready.systemd.pings_during(std::chrono::seconds(1)), 3);
}

TEST(ServiceNotify, PingsTheWatchdogWhileRequestsInFlightFinish) {
    nlohmann::json draining = kConfig;
    draining["limits"] = {{"drain_timeout", "5s"}};
    ReadySluice ready(draining, "300000");
    HttpClient client = ready.sluice.client();
    std::future<HttpResponse> answer = std::async(std::launch::async, [&] { return client.get("/slow?ms=1500"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // with the upstream now
    ready.sluice.sluiced().send_signal(SIGTERM);
    EXPECT_EQ(ready.systemd.next_event(), "STOPPING=1\nSTATUS=stopping");
    EXPECT_GE(ready.systemd.pings_during(std::chrono::milliseconds(900)), 3);  // about 9
    EXPECT_EQ(answer.get().result_int(), 200);
    EXPECT_EQ(ready.sluice.sluiced().wait_exit(std::chrono::seconds(5)), 0);
}

TEST(ServiceNotify, NoWatchdogPingsUnlessAsked) {
    ReadySluice ready(kConfig);
    EXPECT_EQ(ready.systemd.pings_during(std::chrono::milliseconds(1500)), 0);
}

TEST(ServiceNotify, AnInvalidConfigTellsWhyInTheStatus) {
    testing::TempFolder dir;
    FakeSystemd systemd(dir);
    const std::filesystem::path file = dir.write("sluice.json", "{\"listen\": 5}");
    ChildProcess sluiced(SLUICED_BINARY, {"--config", file.string()});
    EXPECT_EQ(sluiced.wait_exit(std::chrono::seconds(10)), 1);
    EXPECT_EQ(systemd.next_event(), "STATUS=failed: invalid configuration " + file.string() + " (see the journal)");
}

}  // namespace
}  // namespace sluice::test
