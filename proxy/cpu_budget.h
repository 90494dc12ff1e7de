// How many event loops `threads: 0` starts: one per CPU the process may
// use. The affinity mask (taskset, systemd's CPUAffinity=) and a cgroup v2
// cpu.max quota (containers, CPUQuota=) can allow fewer than the CPUs online,
// and more loops than CPUs only queue behind each other.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sluice {

struct CpuBudget {
    unsigned cpus = 1;
    std::string reason;  // "affinity allows 1 of 2 CPUs", "cgroup cpu.max 150000 100000 -> 2", "2 CPUs online"
};

// `online`: CPUs online; `affinity`: CPUs in the affinity mask (0: unknown);
// `cpu_max`: the cpu.max files of the process's cgroup and of its ancestors
// ("max 100000", "150000 100000"). The tightest wins, and at least 1.
CpuBudget cpu_budget(unsigned online, unsigned affinity, const std::vector<std::string>& cpu_max);

// cpu_budget of this process: sched_getaffinity, and the cgroup v2 path in
// `proc_cgroup` ("0::/system.slice/sluice.service") looked up under
// `cgroup_root` up to its top.
CpuBudget read_cpu_budget(const std::filesystem::path& proc_cgroup = "/proc/self/cgroup",
                          const std::filesystem::path& cgroup_root = "/sys/fs/cgroup");

}  // namespace sluice
