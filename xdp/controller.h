// Drives the XDP side for sluiced: loads and attaches the program (or adopts
// the one a previous sluiced left attached), writes the xdp.* settings into
// its maps, mirrors the block list (HTTP quotas, admin API) into the XDP
// block map with the same expiry, and removes expired blocks.
#pragma once

#include "xdp/program.h"
#include "xdp/settings.h"
#include "limit/block_listener.h"
#include "common/cidr.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// An entry of the XDP block map.
struct XdpBlock {
    std::string client;  // an IPv4 address, or the IPv6 prefix the program blocks ("2001:db8::/64")
    Nanos until = 0;     // CLOCK_MONOTONIC, the base of SteadyClock
    std::string origin;  // "xdp" (xdp.block_on_exceed), "http" (a quota's block_interval) or "api"
    bool operator==(const XdpBlock&) const = default;
};

struct XdpInterfaceCounters {
    std::string interface;  // a configured interface, or "other"
    XdpCounters counters;
};

class XdpController final : public BlockListener {
public:
    // Loads, attaches and configures. Throws XdpUnavailable (sluiced runs
    // without XDP and says why) or std::runtime_error (a fatal config error).
    XdpController(const XdpSettings& settings, std::vector<Cidr> trusted_proxies);

    // Writes `settings` into the maps: the allow and deny tries updated in
    // place, then the config record. Interfaces, mode, map sizes and the pin
    // folder stay as started; returns a note for each such field that
    // changed (it takes effect on restart).
    std::vector<std::string> apply(const XdpSettings& settings);

    // BlockListener: the client's packets (its IPv6 prefix's, for IPv6) are
    // dropped until `until`. Never blocks a trusted proxy (that would cut off
    // every client behind it).
    void client_blocked(const IpAddress& client, Nanos until, std::string_view origin) override;
    // Ends the block of the client's source key, whoever set it.
    void client_unblocked(const IpAddress& client) override;

    // The unexpired entries of the block map.
    std::vector<XdpBlock> blocks() const;
    // The counters of each configured interface, in the config's order, then
    // of "other" interfaces when they counted packets.
    std::vector<XdpInterfaceCounters> interface_counters() const;

    // Once a second: removes expired blocks, reports blocks the full map lost.
    void tick();
    // More often: removes expired blocks when one it wrote is due, so a
    // block leaves the map soon after it ends, not up to a second later.
    // (The program's own blocks wait for tick().)
    void remove_due_blocks();

    // One line per interface: how the program is attached, and the settings.
    std::vector<std::string> describe() const;
    const std::vector<XdpAttachment>& attachments() const { return program_.attachments(); }

    void set_trusted_proxies(std::vector<Cidr> trusted_proxies);

private:
    unsigned ipv6_prefix() const;

    const XdpSettings started_;  // what the program was loaded and attached with
    // settings_ and trusted_proxies_ change on reload while proxy threads
    // and the admin API report blocks.
    mutable std::mutex mutex_;
    XdpSettings settings_;
    std::vector<Cidr> trusted_proxies_;
    XdpProgram program_;
    std::atomic<std::uint64_t> blocks_lost_{0};
    std::atomic<std::uint64_t> next_expiry_{UINT64_MAX};  // of the blocks it knows, CLOCK_MONOTONIC ns
    void remove_expired_blocks();
};

}  // namespace sluice
