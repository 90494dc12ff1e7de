// The XDP program's maps as sluiced uses them: write the config and the
// allow/deny lists, add and expire blocks, sum the per-CPU statistics. Works
// on the maps of a freshly loaded program or on the pinned ones of a running
// sluiced (`sluiced --xdp-stats`).
#pragma once

#include "common/checked.h"
#include "common/fd.h"
#include "xdp/abi.h"
#include "xdp/block_filter.h"
#include "xdp/source_table.h"
#include "common/cidr.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct sluice_xdp;  // the bpftool skeleton

namespace sluice {

using XdpCounters = std::array<sluice_counter, SLUICE_STAT_COUNT>;

struct XdpStats {
    std::array<XdpCounters, SLUICE_IFACE_SLOTS> slots{};  // summed over CPUs
};

struct BlockedSource {
    sluice_source_key key;  // address_of(key): IPv4, or the IPv6 prefix the program blocks
    sluice_block_entry entry;
};

// Every entry of a block map (of this program, or of one pinned earlier).
std::vector<BlockedSource> read_blocks(int blocked_fd);

enum class XdpList { allow, deny };

class XdpMaps {
public:
    explicit XdpMaps(const sluice_xdp& skeleton);
    // The maps pinned under `pin_path`, or why they cannot be opened
    // ("/sys/fs/bpf/sluice/stats: No such file or directory").
    static Checked<XdpMaps> open_pinned(const std::string& pin_path);

    void write_config(const sluice_xdp_config& config);
    sluice_xdp_config read_config() const;

    // Makes `which` hold exactly `wanted`: adds the new blocks first, then
    // removes the gone ones, so a reload never leaves the list empty.
    void sync_list(XdpList which, const std::vector<Cidr>& wanted);

    // Blocks `key` until `until_ns` (xdp_now_ns() time), replacing a shorter
    // block: in the block map, then in the block filter. False when the block
    // map is full.
    bool block(const sluice_source_key& key, std::uint64_t until_ns, sluice_block_origin origin);
    // Ends `key`'s block: deletes its block map entry, then the block the
    // program kept in its slot if it is tracked (see sluice_source_state).
    // Whether either held one (expired or not).
    bool unblock(const sluice_source_key& key);
    std::vector<BlockedSource> blocked() const;
    // Deletes entries expired at `now_ns`, then rebuilds the block filter
    // from the rest; returns the earliest expiry of the rest (UINT64_MAX: none).
    std::uint64_t remove_expired_blocks(std::uint64_t now_ns);
    // Rebuilds the block filter from the block map: after loading, before
    // the program runs, and after every change made without it.
    void rebuild_block_filter();

    const SourceTable& sources() const { return sources_; }
    SourceTable& sources() { return sources_; }

    XdpStats read_stats() const;

private:
    struct Fds {
        Fd config, allow, deny, blocked, sources, source_tags, block_filter, stats;
    };
    explicit XdpMaps(Fds fds);
    int list_fd(XdpList which) const { return which == XdpList::allow ? fds_.allow.get() : fds_.deny.get(); }

    Fds fds_;
    SourceTable sources_;
    BlockFilter block_filter_;
};

}  // namespace sluice
