// The `xdp` section of the config: what the XDP program enforces and where
// it is attached. Validated by the config loader.
#pragma once

#include "common/cidr.h"
#include "common/clock.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sluice {

enum class XdpMode { native, generic, automatic };
const char* to_string(XdpMode);  // as in the config: "native", "generic", "auto"

struct XdpSettings {
    std::vector<std::string> interfaces;  // at most SLUICE_MAX_INTERFACES
    XdpMode mode = XdpMode::automatic;
    double rate_pps = 0;                  // per source
    double burst = 0;                     // packets; defaults to rate_pps
    unsigned ipv6_prefix = 64;            // IPv6 sources share a budget per prefix
    std::vector<std::uint16_t> ports;     // destination ports rate-limited; empty = all
    std::vector<Cidr> allow;              // never limited
    std::vector<Cidr> deny;               // always dropped
    Nanos block_on_exceed = 0;            // 0 = drop the excess only
    std::uint32_t max_sources = 262'144;  // tracked sources (two table slots each)
    std::uint32_t max_blocked = 65'536;   // block map entries
    double new_sources_per_cpu = 20'000;  // tracked per second per CPU; the rest pass untracked
    std::string pin_path = "/sys/fs/bpf/sluice";
    bool detach_on_stop = false;  // on a stop, never a restart; default: stay attached
};

}  // namespace sluice
