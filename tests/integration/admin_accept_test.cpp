// The admin API out of file descriptors: its accept loop used to retry at
// once, logging each failure (1.3 million lines and 7 s of CPU in 15 s).
#include "harness.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

namespace sluice::test {
namespace {

// Clock ticks of CPU time (user + system) `pid` has used.
long long cpu_ticks(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    const std::string stat(std::istreambuf_iterator<char>(in), {});
    // After "pid (comm) ": state is field 3, utime 14, stime 15.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string skipped;
    for (int field = 3; field < 14; ++field) fields >> skipped;
    long long user = 0, system = 0;
    fields >> user >> system;
    return user + system;
}

std::size_t open_descriptors(pid_t pid) {
    const std::filesystem::directory_iterator fds("/proc/" + std::to_string(pid) + "/fd");
    return static_cast<std::size_t>(std::distance(begin(fds), end(fds)));
}

// A connection the kernel completes into the listen backlog; sluiced's
// accept then has no descriptor to put it in.
int connect_to(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
    return fd;
}

std::size_t count(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

TEST(AdminAccept, OutOfFileDescriptorsItPausesAndLogsOneLine) {
    const std::uint16_t admin_port = free_port();
    testing::TempFolder state;
    Deployment deployment({{"admin", {{"listen", "127.0.0.1:" + std::to_string(admin_port)}}},
                           {"state_dir", (state.path() / "state").string()}});
    ASSERT_EQ(HttpClient(admin_port).get("/v1/sys/health").result_int(), 200u);
    const pid_t pid = deployment.sluiced().pid();

    rlimit limit{};
    ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &limit), 0);
    limit.rlim_cur = open_descriptors(pid);
    ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &limit, nullptr), 0);
    std::vector<int> connections;
    for (int i = 0; i < 5; ++i) connections.push_back(connect_to(admin_port));

    const long long ticks_before = cpu_ticks(pid);
    std::this_thread::sleep_for(std::chrono::seconds(3));
    const double cpu_seconds = static_cast<double>(cpu_ticks(pid) - ticks_before) / ::sysconf(_SC_CLK_TCK);
    for (int fd : connections) ::close(fd);

    // A spinning loop uses about a core: ~3 s here.
    EXPECT_LT(cpu_seconds, 0.3);
    const std::string log = deployment.sluiced().stderr_text();
    EXPECT_EQ(count(log, "admin accept"), 1u) << log.substr(0, 2000);
    EXPECT_EQ(count(log,
                    "sluiced: admin accept: Too many open files (retrying every 100 ms; logged at most every "
                    "10 s)\n"),
              1u);
}

}  // namespace
}  // namespace sluice::test
