#include "config/xdp_settings_json.h"

#include "common/duration.h"
#include "limit/algorithms.h"
#include "sluice_xdp_abi.h"

#include <algorithm>
#include <net/if.h>

namespace sluice {
namespace {

// The LPM tries are created with this many entries (bpf/sluice_xdp.bpf.c).
constexpr std::size_t kMaxListEntries = 65'536;
// Far above any real per-source packet rate, and keeps emission >= 1 ns.
constexpr double kMaxPacketRate = 1e9;
// The BPF program's GCRA adds emission, burst and block times to the
// clock in 64 bits: each is kept within kMaxSpan, as the proxy's quotas.
constexpr double kNanosPerSecond = 1e9;
constexpr std::chrono::nanoseconds kLongest{kMaxSpan};

std::optional<std::string> parse_interface(const JsonField& field) {
    std::optional<std::string> name = field.string();
    if (!name) return std::nullopt;
    const bool valid = !name->empty() && name->size() < IFNAMSIZ &&
                       std::none_of(name->begin(), name->end(), [](char c) { return c == '/' || c <= ' '; });
    if (valid) return name;
    field.error(field.value().dump() + " is not an interface name (1 to 15 characters, no '/' or spaces)");
    return std::nullopt;
}

// A rate per second of at most `max` and at least one per kMaxSpan.
std::optional<double> packet_rate(const JsonField& field, double max) {
    const std::optional<double> v = field.number();
    if (v && (*v <= 0 || *v > max)) {
        field.error("must be greater than 0 and at most " + std::to_string(static_cast<long long>(max)));
        return std::nullopt;
    }
    if (v && kNanosPerSecond / *v > static_cast<double>(kMaxSpan)) {
        field.error(number_text(*v) + " per 1s is below the smallest supported rate (1 per " + duration_text(kLongest) +
                    ")");
        return std::nullopt;
    }
    return v;
}

void read_cidrs(const JsonField& field, std::vector<Cidr>& out) {
    field.for_each_element([&](const JsonField& element) {
        if (auto cidr = element.cidr()) out.push_back(*cidr);
    });
    if (out.size() > kMaxListEntries) field.error("must list at most " + std::to_string(kMaxListEntries) + " blocks");
}

}  // namespace

const char* to_string(XdpMode mode) {
    switch (mode) {
    case XdpMode::native: return "native";
    case XdpMode::generic: return "generic";
    case XdpMode::automatic: return "auto";
    }
    return "?";
}

std::optional<XdpSettings> parse_xdp_settings(const JsonField& section) {
    XdpSettings xdp;
    const std::size_t errors_before = section.error_count();
    bool has_interfaces = false;
    bool has_rate = false;
    const bool is_object = section.for_each_member([&](const std::string& name, const JsonField& value) {
        if (name == "interfaces") {
            has_interfaces = true;
            value.for_each_element([&](const JsonField& element) {
                const std::optional<std::string> interface = parse_interface(element);
                if (!interface) return;
                if (std::find(xdp.interfaces.begin(), xdp.interfaces.end(), *interface) != xdp.interfaces.end())
                    element.error("\"" + *interface + "\" is listed twice");
                else
                    xdp.interfaces.push_back(*interface);
            });
            if (value.value().is_array() && value.value().empty()) value.error("must list at least one interface");
            if (xdp.interfaces.size() > SLUICE_MAX_INTERFACES)
                value.error("must list at most " + std::to_string(SLUICE_MAX_INTERFACES) + " interfaces");
        } else if (name == "mode") {
            const std::optional<std::string> mode = value.string();
            if (mode == "native")
                xdp.mode = XdpMode::native;
            else if (mode == "generic")
                xdp.mode = XdpMode::generic;
            else if (mode == "auto")
                xdp.mode = XdpMode::automatic;
            else if (mode)
                value.error(value.value().dump() + R"( is not one of "native", "generic", "auto")");
        } else if (name == "rate_pps") {
            has_rate = true;
            if (auto v = packet_rate(value, kMaxPacketRate)) xdp.rate_pps = *v;
        } else if (name == "burst") {
            const std::optional<double> v = value.number();
            if (v && *v < 1)
                value.error("must be at least 1 packet");
            else if (v)
                xdp.burst = *v;
        } else if (name == "ipv6_prefix") {
            if (auto v = value.integer(1, 128)) xdp.ipv6_prefix = static_cast<unsigned>(*v);
        } else if (name == "ports") {
            value.for_each_element([&](const JsonField& element) {
                if (auto port = element.integer(1, 65535)) xdp.ports.push_back(static_cast<std::uint16_t>(*port));
            });
        } else if (name == "allow") {
            read_cidrs(value, xdp.allow);
        } else if (name == "deny") {
            read_cidrs(value, xdp.deny);
        } else if (name == "block_on_exceed") {
            if (auto v = value.duration(true, kLongest)) xdp.block_on_exceed = v->count();
        } else if (name == "max_sources") {
            if (auto v = value.integer(1024, 1 << 26)) xdp.max_sources = static_cast<std::uint32_t>(*v);
        } else if (name == "max_blocked") {
            if (auto v = value.integer(16, 1 << 24)) xdp.max_blocked = static_cast<std::uint32_t>(*v);
        } else if (name == "new_sources_per_cpu") {
            if (auto v = packet_rate(value, kMaxPacketRate)) xdp.new_sources_per_cpu = *v;
        } else if (name == "pin_path") {
            const std::optional<std::string> path = value.string();
            if (path && (!path->starts_with("/sys/fs/bpf/") || path->find("..") != std::string::npos))
                value.error(value.value().dump() + " is not a folder under /sys/fs/bpf/");
            else if (path)
                xdp.pin_path = *path;
        } else if (name == "detach_on_stop") {
            if (auto v = value.boolean()) xdp.detach_on_stop = *v;
        } else {
            return false;
        }
        return true;
    });
    if (is_object && !has_interfaces) section.missing("interfaces");
    if (is_object && !has_rate) section.missing("rate_pps");
    // A burst of packets refills at rate_pps.
    if (xdp.burst > 0 && xdp.rate_pps > 0 && xdp.burst * kNanosPerSecond / xdp.rate_pps > static_cast<double>(kMaxSpan))
        section.error_at("burst", number_text(xdp.burst) + " at " + number_text(xdp.rate_pps) +
                                      " per 1s takes longer than the longest supported refill (" +
                                      duration_text(kLongest) + ")");
    if (section.error_count() != errors_before) return std::nullopt;
    return xdp;
}

}  // namespace sluice
