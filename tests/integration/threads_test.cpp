// With threads: 0, sluiced starts one event loop per CPU it may use: the
// affinity mask (taskset) and a cgroup v2 cpu.max quota both count.
#include "harness.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace sluice::test {
namespace {

namespace fs = std::filesystem;

const nlohmann::json kDefaultThreads = {{"threads", 0}};

TEST(Threads, DefaultFollowsTheAffinityMask) {
    const unsigned online = std::thread::hardware_concurrency();
    if (online < 2) GTEST_SKIP() << "one CPU online: taskset -c 0 changes nothing";
    Deployment sluice(kDefaultThreads, Deployment::Upstream::running, {"/usr/bin/taskset", "-c", "0"});
    const std::string line = "sluiced: 1 event loop (affinity allows 1 of " + std::to_string(online) + " CPUs)\n";
    EXPECT_NE(sluice.sluiced().stderr_text().find(line), std::string::npos) << sluice.sluiced().stderr_text();
    EXPECT_EQ(sluice.client().get("/v1/things").result_int(), 200);
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

// A child cgroup of the test's own, removed at the end; empty path when
// cgroup v2 with the cpu controller cannot be had here (and why in `why`).
class CpuLimitedCgroup {
public:
    CpuLimitedCgroup(const std::string& cpu_max, std::string& why) {
        if (geteuid() != 0) {
            why = "not root: cannot make a cgroup";
            return;
        }
        std::ifstream self("/proc/self/cgroup");
        std::string line;
        while (std::getline(self, line) && !line.starts_with("0::/")) {}
        const bool v2 = line.starts_with("0::/");
        const fs::path parent = fs::path("/sys/fs/cgroup") / (v2 ? line.substr(4) : "");
        if (!v2 || !fs::exists(parent / "cgroup.controllers")) {
            why = "no cgroup v2 hierarchy at /sys/fs/cgroup";
            return;
        }
        std::error_code ec;
        const fs::path dir = parent / ("sluice-test-" + std::to_string(getpid()));
        if (!fs::create_directory(dir, ec)) {
            why = "cannot make " + dir.string() + ": " + ec.message();
            return;
        }
        path_ = dir;
        std::ofstream(dir / "cpu.max") << cpu_max;
        std::ifstream check(dir / "cpu.max");
        std::string written;
        if (!std::getline(check, written) || written != cpu_max) {
            why = "the cpu controller is not delegated to " + parent.string();
            path_.clear();
            fs::remove(dir, ec);
        }
    }
    ~CpuLimitedCgroup() {
        std::error_code ignored;
        if (!path_.empty()) fs::remove(path_, ignored);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

TEST(Threads, DefaultFollowsTheCgroupCpuQuota) {
    if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one CPU online: a quota of one changes nothing";
    std::string why;
    const CpuLimitedCgroup cgroup("50000 100000", why);
    if (cgroup.path().empty()) GTEST_SKIP() << "no cgroup v2 delegation here: " << why;
    // sh moves itself into the cgroup, then becomes sluiced (gone before the cgroup is removed).
    Deployment sluice(
        kDefaultThreads, Deployment::Upstream::running,
        {"/bin/sh", "-c", "echo $$ > " + (cgroup.path() / "cgroup.procs").string() + " && exec \"$0\" \"$@\""});
    EXPECT_NE(sluice.sluiced().stderr_text().find("sluiced: 1 event loop (cgroup cpu.max 50000 100000 -> 1)\n"),
              std::string::npos)
        << sluice.sluiced().stderr_text();
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

}  // namespace
}  // namespace sluice::test
