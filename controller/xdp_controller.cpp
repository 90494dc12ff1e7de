#include "controller/xdp_controller.h"

#include <algorithm>
#include <cstdio>

namespace sluice {

XdpController::XdpController(const XdpSettings& settings, std::vector<Cidr> trusted_proxies)
    : started_(settings), settings_(settings), trusted_proxies_(std::move(trusted_proxies)), program_(settings) {
    apply(settings);
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

void XdpController::client_blocked(std::string_view client_ip, Nanos until) {
    const std::optional<IpAddress> address = parse_ip(client_ip);
    if (!address || until <= 0) return;
    unsigned ipv6_prefix = 0;
    {
        const std::lock_guard lock(mutex_);
        if (std::any_of(trusted_proxies_.begin(), trusted_proxies_.end(),
                        [&](const Cidr& proxy) { return proxy.contains(*address); }))
            return;
        ipv6_prefix = settings_.ipv6_prefix;
    }
    const sluice_source_key key = source_key(*address, ipv6_prefix);
    // The limiter's clock and the program's are both CLOCK_MONOTONIC.
    if (!program_.maps().block(key, static_cast<std::uint64_t>(until), SLUICE_BLOCKED_BY_HTTP)) ++blocks_lost_;
}

void XdpController::tick() {
    program_.maps().remove_expired_blocks(xdp_now_ns());
    if (const std::uint64_t lost = blocks_lost_.exchange(0))
        std::fprintf(stderr,
                     "sluiced: XDP block map full (xdp.max_blocked %u): %llu HTTP blocks were enforced by the proxy "
                     "only\n",
                     started_.max_blocked, static_cast<unsigned long long>(lost));
}

void XdpController::stop() {
    if (!settings_.detach_on_exit) return;
    for (const std::string& line : remove_xdp_pins(settings_.pin_path)) std::fprintf(stderr, "sluiced: %s\n", line.c_str());
}

std::vector<std::string> XdpController::describe() const {
    std::vector<std::string> lines;
    for (const std::string& replaced : program_.replaced_maps())
        lines.push_back("XDP map " + replaced + " changed size or layout: made anew");
    char settings[200];
    std::snprintf(settings, sizeof settings, "rate %g pps, burst %g, %zu ports, %zu allow, %zu deny, block_on_exceed %gs",
                  settings_.rate_pps, settings_.burst > 0 ? settings_.burst : settings_.rate_pps,
                  settings_.ports.size(), settings_.allow.size(), settings_.deny.size(),
                  static_cast<double>(settings_.block_on_exceed) / 1e9);
    for (const XdpAttachment& a : program_.attachments()) {
        lines.push_back("XDP " + std::string(a.adopted ? "adopted on " : "attached to ") + a.interface + " (" + a.mode +
                        " mode, pinned in " + settings_.pin_path + "): " + settings);
    }
    return lines;
}

}  // namespace sluice
