#include "xdp/controller.h"

#include "common/log.h"

#include <algorithm>
#include <cstdio>

namespace sluice {
namespace {

// The block list's origin for blocks made through the admin API.
constexpr std::string_view kApiOrigin = "api";

const char* block_origin_name(std::uint32_t origin) {
    switch (origin) {
    case SLUICE_BLOCKED_BY_RATE: return "xdp";
    case SLUICE_BLOCKED_BY_HTTP: return "http";
    case SLUICE_BLOCKED_BY_API: return "api";
    default: return "unknown";
    }
}

}  // namespace

XdpController::XdpController(const XdpSettings& settings, std::vector<Cidr> trusted_proxies)
    : started_(settings),
      settings_(settings),
      trusted_proxies_(std::move(trusted_proxies)),
      program_(settings) {
    // The config record before the program runs: a first start must not
    // judge its first frames with an empty record (they would all pass).
    apply(settings);
    program_.attach(settings);
}

std::vector<std::string> XdpController::apply(const XdpSettings& settings) {
    std::vector<std::string> notes;
    const auto note_if = [&](bool changed, const char* field) {
        if (changed) notes.push_back(std::string("xdp.") + field + " changed: it takes effect when sluiced restarts");
    };
    note_if(settings.interfaces != started_.interfaces, "interfaces");
    note_if(settings.mode != started_.mode, "mode");
    note_if(settings.max_sources != started_.max_sources, "max_sources");
    note_if(settings.max_blocked != started_.max_blocked, "max_blocked");
    note_if(settings.pin_path != started_.pin_path, "pin_path");

    XdpMaps& maps = program_.maps();
    // Lists first (each adds before it removes), then the record whose entry
    // counts switch the lookups on or off: a list is never looked up half
    // made, nor skipped while it still has entries in force.
    maps.sync_list(XdpList::allow, settings.allow);
    maps.sync_list(XdpList::deny, settings.deny);
    maps.write_config(make_xdp_config(settings, program_.ifindexes()));
    const std::lock_guard lock(mutex_);
    settings_ = settings;
    settings_.pin_path = started_.pin_path;  // what stop() detaches is what was pinned
    return notes;
}

void XdpController::set_trusted_proxies(std::vector<Cidr> trusted_proxies) {
    const std::lock_guard lock(mutex_);
    trusted_proxies_ = std::move(trusted_proxies);
}

unsigned XdpController::ipv6_prefix() const {
    const std::lock_guard lock(mutex_);
    return settings_.ipv6_prefix;
}

void XdpController::client_blocked(const IpAddress& client, Nanos until, std::string_view origin) {
    if (until <= 0) return;
    unsigned ipv6_prefix = 0;
    {
        const std::lock_guard lock(mutex_);
        if (std::any_of(trusted_proxies_.begin(), trusted_proxies_.end(),
                        [&](const Cidr& proxy) { return proxy.contains(client); }))
            return;
        ipv6_prefix = settings_.ipv6_prefix;
    }
    const sluice_block_origin by = origin == kApiOrigin ? SLUICE_BLOCKED_BY_API : SLUICE_BLOCKED_BY_HTTP;
    // The limiter's clock and the program's are both CLOCK_MONOTONIC.
    const auto expiry = static_cast<std::uint64_t>(until);
    if (!program_.maps().block(source_key(client, ipv6_prefix), expiry, by)) {
        ++blocks_lost_;
        return;
    }
    std::uint64_t next = next_expiry_.load();
    while (expiry < next && !next_expiry_.compare_exchange_weak(next, expiry)) {}
}

void XdpController::client_unblocked(const IpAddress& client) {
    program_.maps().unblock(source_key(client, ipv6_prefix()));
}

std::vector<XdpBlock> XdpController::blocks() const {
    const unsigned prefix = ipv6_prefix();
    const std::uint64_t now = xdp_now_ns();
    std::vector<XdpBlock> out;
    for (const BlockedSource& source : program_.maps().blocked()) {
        if (source.entry.expires_ns <= now) continue;
        const IpAddress address = address_of(source.key);
        out.push_back({address.is_v4() ? address.to_string() : Cidr{address, prefix}.to_string(),
                       static_cast<Nanos>(source.entry.expires_ns), block_origin_name(source.entry.origin)});
    }
    return out;
}

std::vector<XdpInterfaceCounters> XdpController::interface_counters() const {
    const XdpStats stats = program_.maps().read_stats();
    std::vector<XdpInterfaceCounters> out;
    // Stats slot i belongs to attachments()[i]; the spare slot counts the rest.
    const std::vector<XdpAttachment>& attachments = program_.attachments();
    for (std::size_t slot = 0; slot < attachments.size() && slot < SLUICE_MAX_INTERFACES; ++slot)
        out.push_back({attachments[slot].interface, stats.slots[slot]});
    const XdpCounters& other = stats.slots[SLUICE_MAX_INTERFACES];
    if (std::any_of(other.begin(), other.end(), [](const sluice_counter& c) { return c.packets != 0; }))
        out.push_back({"other", other});
    return out;
}

void XdpController::remove_expired_blocks() {
    // A block written during the sweep may be missed here: tick() catches it.
    next_expiry_ = program_.maps().remove_expired_blocks(xdp_now_ns());
}

void XdpController::remove_due_blocks() {
    if (xdp_now_ns() >= next_expiry_.load()) remove_expired_blocks();
}

void XdpController::tick() {
    remove_expired_blocks();
    if (const std::uint64_t lost = blocks_lost_.exchange(0))
        log(LogLevel::warning,
            "XDP block map full (xdp.max_blocked %u): %llu blocks of the block list were enforced by the proxy only",
            started_.max_blocked, static_cast<unsigned long long>(lost));
}

std::vector<std::string> XdpController::describe() const {
    std::vector<std::string> lines;
    for (const std::string& replaced : program_.replaced_maps())
        lines.push_back("XDP map " + replaced + " changed size or layout: made anew");
    char settings[200];
    std::snprintf(settings, sizeof settings,
                  "rate %g pps, burst %g, %zu ports, %zu allow, %zu deny, block_on_exceed %gs", settings_.rate_pps,
                  settings_.burst > 0 ? settings_.burst : settings_.rate_pps, settings_.ports.size(),
                  settings_.allow.size(), settings_.deny.size(), static_cast<double>(settings_.block_on_exceed) / 1e9);
    for (const XdpAttachment& a : program_.attachments()) {
        lines.push_back("XDP " + std::string(a.adopted ? "adopted on " : "attached to ") + a.interface + " (" + a.mode +
                        " mode, pinned in " + settings_.pin_path + "): " + settings);
    }
    return lines;
}

}  // namespace sluice
