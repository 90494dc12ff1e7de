// A reference model of the XDP program's verdicts, written from the README
// ("## XDP": the verdict order and the counters), not from the BPF C: the
// differential fuzz target (xdp_verdict_fuzz.cpp) runs every frame through
// both and fails when they disagree.
//
// Time stands still in the model: the rate is so slow that nothing refills
// within a case, so a source gets exactly `burst` packets through, and a
// block lasts the whole case. The insert budget is a plain count.
#pragma once

#include "common/cidr.h"
#include "sluice_xdp_abi.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <vector>

namespace sluice::fuzz {

struct XdpModelSettings {
    std::vector<Cidr> allow;
    std::vector<Cidr> deny;
    std::vector<std::uint16_t> ports;  // rate-limited destination ports; empty: all
    std::uint64_t burst = 1;           // packets a source gets through
    bool block_on_exceed = false;
    unsigned ipv6_prefix = 64;
    std::vector<IpAddress> blocked;         // block list entries in force, by source (IPv6: any address of the prefix)
    std::vector<IpAddress> expired_blocks;  // block list entries expired (not yet removed by sluiced)
    std::size_t block_list_room = 0;        // blocks the block list can still take
    std::size_t new_sources = 0;            // sources that may start being tracked in this case
};

struct XdpModelOutcome {
    int action = 0;           // XDP_PASS or XDP_DROP
    sluice_stat verdict{};    // the one verdict counter that moves
    bool block_lost = false;  // SLUICE_EVENT_BLOCK_FULL moves too
};

class XdpReferenceModel {
public:
    explicit XdpReferenceModel(XdpModelSettings settings);

    // The outcome of one frame, and its effect on the model's state.
    XdpModelOutcome judge(std::span<const std::uint8_t> frame);

private:
    using SourceKey = std::array<std::uint8_t, 16>;
    SourceKey key_of(const IpAddress& source, bool ipv6) const;
    bool port_limited(std::uint16_t port) const;

    XdpModelSettings settings_;
    std::set<SourceKey> blocked_;
    std::set<SourceKey> listed_;               // every block list entry, in force or expired
    std::map<SourceKey, std::uint64_t> sent_;  // tracked sources: packets they got through
};

}  // namespace sluice::fuzz
