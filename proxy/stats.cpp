#include "proxy/stats.h"

namespace sluice {

void ProxyStats::add_to(ProxyStatsSnapshot& total) const {
#define SLUICE_ADD(name) total.name += name.load(std::memory_order_relaxed);
    SLUICE_PROXY_COUNTERS(SLUICE_ADD)
#undef SLUICE_ADD
    latency_.add_to(total.latency);
}

}  // namespace sluice
