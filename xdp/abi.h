// The C++ side of bpf/sluice_xdp_abi.h: layout checks, and the conversions
// from sluiced's types to the records the XDP program reads.
#pragma once

#include "xdp/settings.h"
#include "common/cidr.h"
#include "sluice_xdp_abi.h"

#include <array>
#include <cstddef>
#include <cstdint>

namespace sluice {

// The kernel reads these byte for byte; a layout change must be deliberate.
static_assert(sizeof(sluice_counter) == 16);
static_assert(sizeof(sluice_lpm_key) == 20);
static_assert(sizeof(sluice_source_key) == 16);
static_assert(sizeof(sluice_source_state) == 16);
static_assert(sizeof(sluice_source_slot) == 32);
static_assert(sizeof(sluice_source_bucket) == 128);  // two cache lines
static_assert(sizeof(sluice_source_tags) == SLUICE_TAG_BUCKETS * SLUICE_SOURCE_WAYS);
static_assert(sizeof(sluice_block_entry) == 16);
static_assert(sizeof(sluice_block_filter_entry) == 16);
static_assert(sizeof(sluice_insert_budget) == 8);
static_assert(offsetof(sluice_xdp_config, ifindex) == 56);
static_assert(offsetof(sluice_xdp_config, port_bits) == 104);
static_assert(sizeof(sluice_xdp_config) == 104 + 8 * SLUICE_PORT_WORDS);

// The config record for `settings`, with stats slot i for ifindexes[i].
sluice_xdp_config make_xdp_config(const XdpSettings& settings,
                                  const std::array<std::uint32_t, SLUICE_MAX_INTERFACES>& ifindexes);

sluice_lpm_key lpm_key(const Cidr& cidr);
// The key the program rates and blocks `address` under: IPv4 as is, IPv6
// cut to `ipv6_prefix` bits.
sluice_source_key source_key(const IpAddress& address, unsigned ipv6_prefix);
IpAddress address_of(const sluice_source_key& key);

// The name a stat is reported under: "passed", "rate_dropped", ...
const char* xdp_stat_name(unsigned stat);

// Monotonic time as the program sees it (bpf_ktime_get_coarse_ns).
std::uint64_t xdp_now_ns();

}  // namespace sluice
