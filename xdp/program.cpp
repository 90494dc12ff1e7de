#include "xdp/program.h"

#include "sluice_xdp.skel.h"
#include "sluice_xdp_sizes.h"
#include "common/log.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBpfFs = "/sys/fs/bpf";
constexpr const char* kLinkPrefix = "link_";

std::string error_text(int error) { return std::strerror(error); }

// libbpf's warnings (a verifier log, a failed pin) are worth seeing; its
// info and debug lines are not.
int print_libbpf(libbpf_print_level level, const char* format, va_list args) {
    if (level != LIBBPF_WARN) return 0;
    log(LogLevel::warning, "libbpf: %s", format_text(format, args).c_str());
    return 0;
}

[[noreturn]] void unavailable_or_fail(const std::string& what, int error) {
    if (error == EPERM || error == EACCES)
        throw XdpUnavailable(what + ": " + error_text(error) +
                             " (loading and attaching XDP needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN)");
    throw std::runtime_error(what + ": " + error_text(error));
}

// The pin folder, on a BPF filesystem (mounted here if the system has not).
void prepare_pin_folder(const std::string& pin_path) {
    struct statfs fs_info {};
    if (statfs(kBpfFs, &fs_info) != 0 || fs_info.f_type != BPF_FS_MAGIC) {
        if (mount("bpf", kBpfFs, "bpf", 0, "mode=0700") != 0)
            throw XdpUnavailable(std::string(kBpfFs) +
                                 " is not a BPF filesystem and mounting one failed: " + error_text(errno));
    }
    if (mkdir(pin_path.c_str(), 0700) != 0 && errno != EEXIST) unavailable_or_fail("creating " + pin_path, errno);
}

bool same_shape(const bpf_map_info& pinned, const bpf_map* wanted) {
    return pinned.type == bpf_map__type(wanted) && pinned.key_size == bpf_map__key_size(wanted) &&
           pinned.value_size == bpf_map__value_size(wanted) && pinned.max_entries == bpf_map__max_entries(wanted) &&
           pinned.map_flags == bpf_map__map_flags(wanted);
}

std::string attach_mode_name(std::uint32_t ifindex) {
    LIBBPF_OPTS(bpf_xdp_query_opts, query);
    if (bpf_xdp_query(static_cast<int>(ifindex), 0, &query) != 0) return "unknown";
    switch (query.attach_mode) {
    case XDP_ATTACHED_DRV: return "native";
    case XDP_ATTACHED_SKB: return "generic";
    case XDP_ATTACHED_HW: return "offload";
    default: return "unknown";
    }
}

std::uint32_t xdp_flags(XdpMode mode) {
    switch (mode) {
    case XdpMode::native: return XDP_FLAGS_DRV_MODE;
    case XdpMode::generic: return XDP_FLAGS_SKB_MODE;
    case XdpMode::automatic: return 0;  // the kernel picks native where the driver has it
    }
    return 0;
}

// A new link attaching `prog_fd` to `interface`, pinned at `pin`.
Fd attach_link(int prog_fd, const std::string& interface, std::uint32_t ifindex, XdpMode mode, const std::string& pin) {
    LIBBPF_OPTS(bpf_link_create_opts, options, .flags = xdp_flags(mode));
    Fd link(bpf_link_create(prog_fd, static_cast<int>(ifindex), BPF_XDP, &options));
    if (!link) {
        const int error = errno;
        if (error == EBUSY || error == EEXIST)
            throw std::runtime_error(
                "xdp.interfaces: " + interface +
                " already has an XDP program that is not Sluice's; remove it first (ip link set dev " + interface +
                " xdp off)");
        if (mode == XdpMode::native && (error == EOPNOTSUPP || error == EINVAL))
            throw std::runtime_error("xdp.mode is \"native\" but " + interface + " cannot run XDP natively (" +
                                     error_text(error) + "); use \"generic\" or \"auto\"");
        unavailable_or_fail("attaching XDP to " + interface + " in " + to_string(mode) + " mode", error);
    }
    if (bpf_obj_pin(link.get(), pin.c_str()) != 0) unavailable_or_fail("pinning " + pin, errno);
    return link;
}

// The pinned link of an earlier sluiced on this interface, now running
// `prog_fd`; an empty Fd when there is none (a stale pin is removed).
Fd adopt(int prog_fd, std::uint32_t ifindex, const std::string& pin) {
    Fd link(bpf_obj_get(pin.c_str()));
    if (!link) return link;
    bpf_link_info info{};
    __u32 length = sizeof info;
    const bool current = bpf_obj_get_info_by_fd(link.get(), &info, &length) == 0 && info.type == BPF_LINK_TYPE_XDP &&
                         info.xdp.ifindex == ifindex;
    if (!current) {  // its interface was removed (or renumbered) since
        ::unlink(pin.c_str());
        return Fd();
    }
    if (bpf_link_update(link.get(), prog_fd, nullptr) != 0)
        unavailable_or_fail("replacing the program in " + pin, errno);
    return link;
}

void detach_link(const std::string& pin) {
    const Fd link(bpf_obj_get(pin.c_str()));
    if (link) bpf_link_detach(link.get());
    ::unlink(pin.c_str());
}

}  // namespace

struct XdpProgram::Skeleton {
    sluice_xdp* object = nullptr;
    ~Skeleton() { sluice_xdp__destroy(object); }
};

XdpProgram::XdpProgram(const XdpSettings& settings) : skeleton_(std::make_unique<Skeleton>()) {
    static const bool quiet = (libbpf_set_print(print_libbpf), true);
    (void)quiet;
    for (const std::string& interface : settings.interfaces) {
        ifindexes_.push_back(if_nametoindex(interface.c_str()));
        if (ifindexes_.back() == 0) throw std::runtime_error("xdp.interfaces: no interface named " + interface);
    }
    // A first start that fails leaves nothing pinned behind. (An unreadable
    // /sys/fs/bpf counts as a first start; preparing the folder then says why.)
    std::error_code unreadable;
    first_start_ = !fs::exists(settings.pin_path, unreadable);
    prepare_pin_folder(settings.pin_path);
    try {
        load(settings);
    } catch (...) {
        if (first_start_) remove_xdp_pins(settings.pin_path);
        throw;
    }
}

void XdpProgram::attach(const XdpSettings& settings) {
    try {
        attach_each(settings);
    } catch (...) {
        if (first_start_) remove_xdp_pins(settings.pin_path);
        throw;
    }
}

void XdpProgram::load(const XdpSettings& settings) {
    skeleton_->object = sluice_xdp__open();
    if (!skeleton_->object) unavailable_or_fail("opening the XDP program", errno);
    sluice_xdp& object = *skeleton_->object;
    if (const int err = sluice_xdp_set_sizes(&object, settings.max_sources, settings.max_blocked))
        unavailable_or_fail("sizing the XDP maps", -err);

    // Reuse what an earlier sluiced pinned; a map whose size or layout
    // changed is made anew (the block list is carried over).
    Fd old_blocked;
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, object.obj) {
        if (bpf_map__is_internal(map)) continue;
        const std::string pin = settings.pin_path + "/" + bpf_map__name(map);
        Fd pinned(bpf_obj_get(pin.c_str()));
        bpf_map_info info{};
        __u32 length = sizeof info;
        if (pinned && bpf_obj_get_info_by_fd(pinned.get(), &info, &length) == 0 && !same_shape(info, map)) {
            replaced_maps_.push_back(bpf_map__name(map));
            ::unlink(pin.c_str());
            if (map == object.maps.blocked && info.key_size == sizeof(sluice_source_key) &&
                info.value_size == sizeof(sluice_block_entry))
                old_blocked = std::move(pinned);
        }
        if (bpf_map__set_pin_path(map, pin.c_str()) != 0) unavailable_or_fail("setting the pin of " + pin, errno);
    }
    if (sluice_xdp__load(skeleton_->object) != 0) unavailable_or_fail("loading the XDP program", errno);
    if (old_blocked) {  // as many as fit in the new size
        for (const BlockedSource& source : read_blocks(old_blocked.get()))
            bpf_map_update_elem(bpf_map__fd(object.maps.blocked), &source.key, &source.entry, BPF_NOEXIST);
    }
    maps_ = std::make_unique<XdpMaps>(object);
    // The block map may have been carried over or reused without its filter:
    // the filter must cover it before the program runs.
    maps_->rebuild_block_filter();
}

void XdpProgram::attach_each(const XdpSettings& settings) {
    const int prog_fd = bpf_program__fd(skeleton_->object->progs.sluice_xdp);
    for (std::size_t i = 0; i < settings.interfaces.size(); ++i) {
        const std::string& interface = settings.interfaces[i];
        const std::uint32_t ifindex = ifindexes_[i];
        const std::string pin = settings.pin_path + "/" + kLinkPrefix + interface;
        Fd link = adopt(prog_fd, ifindex, pin);
        const bool adopted = static_cast<bool>(link);
        if (!adopted) link = attach_link(prog_fd, interface, ifindex, settings.mode, pin);
        attachments_.push_back({interface, ifindex, adopted, attach_mode_name(ifindex)});
    }

    // Interfaces dropped from the config since the last run.
    for (const fs::directory_entry& entry : fs::directory_iterator(settings.pin_path)) {
        const std::string name = entry.path().filename().string();
        if (!name.starts_with(kLinkPrefix)) continue;
        const std::string interface = name.substr(std::strlen(kLinkPrefix));
        if (std::find(settings.interfaces.begin(), settings.interfaces.end(), interface) == settings.interfaces.end())
            detach_link(entry.path().string());
    }
}

XdpProgram::~XdpProgram() = default;

std::array<std::uint32_t, SLUICE_MAX_INTERFACES> XdpProgram::ifindexes() const {
    std::array<std::uint32_t, SLUICE_MAX_INTERFACES> out{};
    for (std::size_t i = 0; i < ifindexes_.size() && i < out.size(); ++i) out[i] = ifindexes_[i];
    return out;
}

std::vector<std::string> remove_xdp_pins(const std::string& pin_path) {
    std::vector<std::string> removed;
    std::error_code error;
    if (!fs::is_directory(pin_path, error)) return removed;
    for (const fs::directory_entry& entry : fs::directory_iterator(pin_path)) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with(kLinkPrefix)) {
            detach_link(entry.path().string());
            removed.push_back("detached XDP from " + name.substr(std::strlen(kLinkPrefix)));
        } else {
            ::unlink(entry.path().c_str());
            removed.push_back("removed " + entry.path().string());
        }
    }
    fs::remove(pin_path, error);
    return removed;
}

}  // namespace sluice
