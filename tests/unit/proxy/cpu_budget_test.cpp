#include "proxy/cpu_budget.h"

#include "tests/support/temp_folder.h"

#include <gtest/gtest.h>

#include <sched.h>

#include <filesystem>
#include <thread>

namespace sluice {
namespace {

TEST(CpuBudget, OneLoopPerCpuOnlineWithoutOtherLimits) {
    const CpuBudget budget = cpu_budget(8, 8, {"max 100000"});
    EXPECT_EQ(budget.cpus, 8u);
    EXPECT_EQ(budget.reason, "8 CPUs online");
}

TEST(CpuBudget, TheAffinityMaskCapsIt) {
    const CpuBudget budget = cpu_budget(2, 1, {});
    EXPECT_EQ(budget.cpus, 1u);
    EXPECT_EQ(budget.reason, "affinity allows 1 of 2 CPUs");
}

TEST(CpuBudget, ACgroupQuotaCapsItRoundedUp) {
    const CpuBudget budget = cpu_budget(8, 8, {"150000 100000\n"});
    EXPECT_EQ(budget.cpus, 2u);
    EXPECT_EQ(budget.reason, "cgroup cpu.max 150000 100000 -> 2");
    EXPECT_EQ(cpu_budget(8, 8, {"20000 100000"}).cpus, 1u);  // a fifth of a CPU is still one loop
}

TEST(CpuBudget, TheTightestOfAffinityAndEveryLevelWins) {
    const CpuBudget budget = cpu_budget(16, 6, {"max 100000", "400000 100000", "300000 100000", "500000 100000"});
    EXPECT_EQ(budget.cpus, 3u);
    EXPECT_EQ(budget.reason, "cgroup cpu.max 300000 100000 -> 3");
    EXPECT_EQ(cpu_budget(16, 2, {"400000 100000"}).reason, "affinity allows 2 of 16 CPUs");
}

TEST(CpuBudget, TextNotUnderstoodIsNoLimit) {
    EXPECT_EQ(cpu_budget(4, 0, {"", "max", "x 100000", "100000 0", "-5 100000"}).cpus, 4u);
    EXPECT_EQ(cpu_budget(0, 0, {}).cpus, 1u);
    EXPECT_EQ(cpu_budget(0, 0, {}).reason, "1 CPU online");
}

TEST(CpuBudget, ReadWalksFromTheProcessCgroupUpToTheRoot) {
    cpu_set_t mask;
    ASSERT_EQ(sched_getaffinity(0, sizeof mask, &mask), 0);
    if (CPU_COUNT(&mask) < 2) GTEST_SKIP() << "needs 2 CPUs to see a quota of 1 take effect";
    const testing::TempFolder root;
    std::filesystem::create_directories(root / "system.slice/sluice.service");
    root.write("system.slice/sluice.service/cpu.max", "max 100000\n");
    root.write("system.slice/cpu.max", "100000 100000\n");  // the parent's is the tighter
    const std::filesystem::path proc = root.write("cgroup", "1:cpu:/ignored\n0::/system.slice/sluice.service\n");

    const CpuBudget budget = read_cpu_budget(proc, root.path());
    EXPECT_EQ(budget.cpus, 1u);
    EXPECT_EQ(budget.reason, "cgroup cpu.max 100000 100000 -> 1");
}

}  // namespace
}  // namespace sluice
