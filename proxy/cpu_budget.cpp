#include "proxy/cpu_budget.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

namespace sluice {

namespace {

// CPUs a cpu.max text allows, rounded up; 0 for "max" or text not understood.
unsigned quota_cpus(const std::string& text) {
    std::istringstream in(text);
    std::string quota, period_text;
    if (!(in >> quota >> period_text)) return 0;
    const auto number = [](const std::string& word) {
        unsigned long long value = 0;
        const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), value);
        return ec == std::errc() && end == word.data() + word.size() ? value : 0;
    };
    const unsigned long long microseconds = number(quota), period = number(period_text);
    if (microseconds == 0 || period == 0) return 0;  // "max", or not a number
    return static_cast<unsigned>(std::min<unsigned long long>(microseconds / period + (microseconds % period != 0),
                                                              std::numeric_limits<unsigned>::max()));
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

}  // namespace

CpuBudget cpu_budget(unsigned online, unsigned affinity, const std::vector<std::string>& cpu_max) {
    CpuBudget budget{std::max(1u, online), online > 1 ? std::to_string(online) + " CPUs online" : "1 CPU online"};
    if (affinity > 0 && affinity < budget.cpus) {
        budget.reason = "affinity allows " + std::to_string(affinity) + " of " + std::to_string(budget.cpus) + " CPUs";
        budget.cpus = affinity;
    }
    for (const std::string& text : cpu_max) {
        const unsigned cpus = quota_cpus(text);
        if (cpus == 0 || cpus >= budget.cpus) continue;
        budget.cpus = cpus;
        budget.reason = "cgroup cpu.max " + trimmed(text) + " -> " + std::to_string(cpus);
    }
    return budget;
}

CpuBudget read_cpu_budget(const std::filesystem::path& proc_cgroup, const std::filesystem::path& cgroup_root) {
    cpu_set_t mask;
    CPU_ZERO(&mask);
    const unsigned affinity = sched_getaffinity(0, sizeof mask, &mask) == 0 ? CPU_COUNT(&mask) : 0;

    std::vector<std::string> cpu_max;
    std::ifstream cgroups(proc_cgroup);
    for (std::string line; std::getline(cgroups, line);) {
        if (!line.starts_with("0::/")) continue;  // the cgroup v2 entry
        // From the process's own cgroup up to the root: each level's quota applies.
        for (std::filesystem::path dir = std::filesystem::path(line.substr(4)).relative_path();;
             dir = dir.parent_path()) {
            std::ifstream file(cgroup_root / dir / "cpu.max");
            std::string text;
            if (file && std::getline(file, text)) cpu_max.push_back(text);
            if (dir.empty()) break;
        }
    }
    return cpu_budget(std::thread::hardware_concurrency(), affinity, cpu_max);
}

}  // namespace sluice
