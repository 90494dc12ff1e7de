#include "xdp/report.h"

#include <cinttypes>
#include <cstdio>

namespace sluice {

std::string format_xdp_stats(const XdpStats& stats, const sluice_xdp_config& config,
                             std::string (*interface_name)(std::uint32_t ifindex)) {
    std::string out;
    char line[160];
    for (std::size_t slot = 0; slot < SLUICE_IFACE_SLOTS; ++slot) {
        const XdpCounters& counters = stats.slots[slot];
        const bool configured = slot < SLUICE_MAX_INTERFACES && config.ifindex[slot] != 0;
        std::uint64_t packets = 0;
        for (const sluice_counter& c : counters) packets += c.packets;
        if (!configured && packets == 0) continue;

        if (configured) {
            std::snprintf(line, sizeof line, "%s (ifindex %u):\n", interface_name(config.ifindex[slot]).c_str(),
                          config.ifindex[slot]);
        } else {
            std::snprintf(line, sizeof line, "other interfaces:\n");
        }
        out += line;
        for (unsigned stat = 0; stat < SLUICE_STAT_COUNT; ++stat) {
            const sluice_counter& c = counters[stat];
            if (stat < SLUICE_VERDICT_COUNT)
                std::snprintf(line, sizeof line, "  %-15s %14" PRIu64 " packets %16" PRIu64 " bytes\n",
                              xdp_stat_name(stat), static_cast<std::uint64_t>(c.packets),
                              static_cast<std::uint64_t>(c.bytes));
            else
                std::snprintf(line, sizeof line, "  %-15s %14" PRIu64 " times\n", xdp_stat_name(stat),
                              static_cast<std::uint64_t>(c.packets));
            out += line;
        }
    }
    return out;
}

}  // namespace sluice
