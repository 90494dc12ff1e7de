#include "xdp/abi.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <time.h>

namespace sluice {

namespace {

constexpr double kNsPerSecond = 1e9;

// GCRA parameters are whole nanoseconds; a rate above 1e9/s is treated as
// 1e9/s, which no link reaches per source.
std::uint64_t interval_ns(double per_second) {
    return per_second > 0 ? std::max<std::uint64_t>(1, std::llround(kNsPerSecond / per_second)) : 0;
}

}  // namespace

sluice_xdp_config make_xdp_config(const XdpSettings& settings,
                                  const std::array<std::uint32_t, SLUICE_MAX_INTERFACES>& ifindexes) {
    sluice_xdp_config config{};
    config.emission_ns = interval_ns(settings.rate_pps);
    const double burst = settings.burst > 0 ? settings.burst : settings.rate_pps;
    config.burst_ns = static_cast<std::uint64_t>(std::llround(burst * static_cast<double>(config.emission_ns)));
    config.block_ns = static_cast<std::uint64_t>(settings.block_on_exceed);
    config.insert_interval_ns = interval_ns(settings.new_sources_per_cpu);
    // A tenth of a second's worth of inserts banked: a burst of new clients is
    // tracked at once, a sustained spray is held to the rate.
    config.insert_burst_ns =
        config.insert_interval_ns * std::max<std::uint64_t>(1, std::llround(settings.new_sources_per_cpu / 10));

    const IpAddress mask_source = [&] {
        IpAddress all_ones;
        all_ones.bytes.fill(0xff);
        return all_ones;
    }();
    const sluice_source_key mask = source_key(mask_source, settings.ipv6_prefix);
    std::memcpy(config.ipv6_mask, mask.addr, sizeof config.ipv6_mask);

    std::copy(ifindexes.begin(), ifindexes.end(), config.ifindex);
    config.allow_entries = static_cast<std::uint32_t>(settings.allow.size());
    config.deny_entries = static_cast<std::uint32_t>(settings.deny.size());
    config.port_filter = settings.ports.empty() ? 0 : 1;
    for (std::uint16_t port : settings.ports) config.port_bits[port / 64] |= std::uint64_t{1} << (port % 64);
    return config;
}

sluice_lpm_key lpm_key(const Cidr& cidr) {
    sluice_lpm_key key{};
    key.prefixlen = cidr.prefix;
    std::memcpy(key.addr, cidr.network.bytes.data(), sizeof key.addr);
    return key;
}

sluice_source_key source_key(const IpAddress& address, unsigned ipv6_prefix) {
    sluice_source_key key{};
    std::memcpy(key.addr, address.bytes.data(), sizeof key.addr);
    if (address.is_v4()) return key;
    for (unsigned bit = ipv6_prefix; bit < 128; ++bit)
        key.addr[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    return key;
}

IpAddress address_of(const sluice_source_key& key) {
    IpAddress address;
    std::memcpy(address.bytes.data(), key.addr, sizeof key.addr);
    return address;
}

const char* xdp_stat_name(unsigned stat) {
    static constexpr const char* names[SLUICE_STAT_COUNT] = {
        "passed",      "allow_listed", "other_port",   "unparsed",       "insert_gated",
        "deny_listed", "blocked",      "rate_dropped", "block_map_full",
    };
    return stat < SLUICE_STAT_COUNT ? names[stat] : "unknown";
}

std::uint64_t xdp_now_ns() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(now.tv_nsec);
}

}  // namespace sluice
