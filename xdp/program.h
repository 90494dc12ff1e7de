// Loads Sluice's XDP program from the embedded skeleton, then attaches it.
// Maps and one bpf_link per interface are pinned under the pin folder: a
// restarted sluiced reuses the maps (block list, counters, rate state) and
// swaps its program into the pinned links in place, so enforcement never
// stops. Only detach() removes the program and the pins.
#pragma once

#include "xdp/maps.h"
#include "xdp/settings.h"

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice {

// The machine does not let this process use XDP (no privilege, no BPF
// filesystem): sluiced runs without it and says why.
class XdpUnavailable : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct XdpAttachment {
    std::string interface;
    std::uint32_t ifindex = 0;
    bool adopted = false;  // an earlier sluiced's pinned link, now running this program
    std::string mode;      // as the kernel reports it: "native", "generic" or "offload"
};

class XdpProgram {
public:
    // Loads the program and its maps (reusing the pinned ones) without
    // attaching it, so that the caller can fill the maps first. Throws
    // XdpUnavailable, or std::runtime_error for what the operator must fix
    // (no such interface).
    explicit XdpProgram(const XdpSettings& settings);
    ~XdpProgram();
    XdpProgram(const XdpProgram&) = delete;
    XdpProgram& operator=(const XdpProgram&) = delete;

    // Attaches to every configured interface, or swaps the program into an
    // earlier sluiced's pinned link. Throws as the constructor does, and for
    // native mode not supported or another program attached.
    void attach(const XdpSettings& settings);

    XdpMaps& maps() { return *maps_; }
    const XdpMaps& maps() const { return *maps_; }
    const std::vector<XdpAttachment>& attachments() const { return attachments_; }
    // The configured interfaces' indexes: stats slot i belongs to the i-th.
    std::array<std::uint32_t, SLUICE_MAX_INTERFACES> ifindexes() const;
    // Maps that could not be reused (changed size or layout) and were made anew.
    const std::vector<std::string>& replaced_maps() const { return replaced_maps_; }

private:
    void load(const XdpSettings& settings);
    void attach_each(const XdpSettings& settings);

    struct Skeleton;
    std::unique_ptr<Skeleton> skeleton_;
    std::unique_ptr<XdpMaps> maps_;
    std::vector<std::uint32_t> ifindexes_;  // of settings.interfaces, in order
    bool first_start_ = false;              // nothing was pinned: a failure unpins all
    std::vector<XdpAttachment> attachments_;
    std::vector<std::string> replaced_maps_;
};

// Detaches every program Sluice pinned under `pin_path` and removes the pins
// and the folder. Returns what it removed, one line each.
std::vector<std::string> remove_xdp_pins(const std::string& pin_path);

}  // namespace sluice
