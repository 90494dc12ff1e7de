#include "xdp/maps.h"

#include "sluice_xdp.skel.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sluice {
namespace {

[[noreturn]] void fail(const std::string& what, int error) {
    throw std::runtime_error(what + ": " + std::strerror(error));
}

Fd dup_fd(const bpf_map* map) {
    const int fd = fcntl(bpf_map__fd(map), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) fail(std::string("dup of map ") + bpf_map__name(map), errno);
    return Fd(fd);
}

bool same_key(const sluice_lpm_key& a, const sluice_lpm_key& b) {
    return a.prefixlen == b.prefixlen && std::memcmp(a.addr, b.addr, sizeof a.addr) == 0;
}

Cidr cidr_of(const sluice_lpm_key& key) {
    Cidr cidr;
    cidr.prefix = key.prefixlen;
    std::memcpy(cidr.network.bytes.data(), key.addr, sizeof key.addr);
    return cidr;
}

// Every key of a map, by get_next_key (tries have no batch lookup).
template <typename Key>
std::vector<Key> all_keys(int fd) {
    std::vector<Key> keys;
    Key key{};
    const Key* previous = nullptr;
    while (bpf_map_get_next_key(fd, previous, &key) == 0) {
        keys.push_back(key);
        previous = &keys.back();
    }
    return keys;
}

}  // namespace

XdpMaps::XdpMaps(const sluice_xdp& skeleton)
    : XdpMaps(Fds{dup_fd(skeleton.maps.sluice_config), dup_fd(skeleton.maps.allow_cidrs),
                  dup_fd(skeleton.maps.deny_cidrs), dup_fd(skeleton.maps.blocked), dup_fd(skeleton.maps.sources),
                  dup_fd(skeleton.maps.source_tags), dup_fd(skeleton.maps.block_filter), dup_fd(skeleton.maps.stats)}) {
}

XdpMaps::XdpMaps(Fds fds)
    : fds_(std::move(fds)),
      sources_(fds_.sources.get(), fds_.source_tags.get()),
      block_filter_(fds_.block_filter.get()) {}

Checked<XdpMaps> XdpMaps::open_pinned(const std::string& pin_path) {
    Fds fds;
    const std::pair<const char*, Fd*> wanted[] = {
        {"sluice_config", &fds.config},      {"allow_cidrs", &fds.allow}, {"deny_cidrs", &fds.deny},
        {"blocked", &fds.blocked},           {"sources", &fds.sources},   {"source_tags", &fds.source_tags},
        {"block_filter", &fds.block_filter}, {"stats", &fds.stats}};
    for (const auto& [name, fd] : wanted) {
        const std::string path = pin_path + "/" + name;
        *fd = Fd(bpf_obj_get(path.c_str()));
        if (!*fd) return Checked<XdpMaps>::failed(path + ": " + std::strerror(errno));
    }
    try {
        return XdpMaps(std::move(fds));
    } catch (const std::runtime_error& e) {  // pinned by a sluiced with another layout
        return Checked<XdpMaps>::failed(e.what());
    }
}

void XdpMaps::write_config(const sluice_xdp_config& config) {
    const __u32 zero = 0;
    if (bpf_map_update_elem(fds_.config.get(), &zero, &config, BPF_ANY) != 0) fail("writing the XDP config", errno);
}

sluice_xdp_config XdpMaps::read_config() const {
    const __u32 zero = 0;
    sluice_xdp_config config{};
    if (bpf_map_lookup_elem(fds_.config.get(), &zero, &config) != 0) fail("reading the XDP config", errno);
    return config;
}

void XdpMaps::sync_list(XdpList which, const std::vector<Cidr>& wanted) {
    const int fd = list_fd(which);
    const __u8 present = 1;
    std::vector<sluice_lpm_key> keep;
    for (const Cidr& cidr : wanted) {
        keep.push_back(lpm_key(cidr));
        if (bpf_map_update_elem(fd, &keep.back(), &present, BPF_ANY) != 0)
            fail("adding " + cidr.to_string() + " to the XDP " + (which == XdpList::allow ? "allow" : "deny") + " list",
                 errno);
    }
    for (const sluice_lpm_key& key : all_keys<sluice_lpm_key>(fd)) {
        const bool kept =
            std::any_of(keep.begin(), keep.end(), [&](const sluice_lpm_key& k) { return same_key(k, key); });
        if (!kept && bpf_map_delete_elem(fd, &key) != 0 && errno != ENOENT)
            fail("removing " + cidr_of(key).to_string() + " from an XDP list", errno);
    }
}

bool XdpMaps::block(const sluice_source_key& key, std::uint64_t until_ns, sluice_block_origin origin) {
    sluice_block_entry entry{};
    bool recorded = bpf_map_lookup_elem(fds_.blocked.get(), &key, &entry) == 0 && entry.expires_ns >= until_ns;
    if (!recorded) {
        entry = {.expires_ns = until_ns, .origin = static_cast<__u32>(origin), .reserved = 0};
        recorded = bpf_map_update_elem(fds_.blocked.get(), &key, &entry, BPF_ANY) == 0;
        if (!recorded && errno != E2BIG && errno != ENOMEM) fail("adding a block to the XDP block map", errno);
    }
    if (recorded) block_filter_.add(key);
    return recorded;
}

bool XdpMaps::unblock(const sluice_source_key& key) {
    bool was_blocked = bpf_map_delete_elem(fds_.blocked.get(), &key) == 0;
    if (!was_blocked && errno != ENOENT) fail("removing a block from the XDP block map", errno);
    if (sources_.end_block(key)) was_blocked = true;
    return was_blocked;
}

std::vector<BlockedSource> read_blocks(int blocked_fd) {
    std::vector<BlockedSource> out;
    for (const sluice_source_key& key : all_keys<sluice_source_key>(blocked_fd)) {
        sluice_block_entry entry{};
        if (bpf_map_lookup_elem(blocked_fd, &key, &entry) == 0) out.push_back({key, entry});
    }
    return out;
}

std::vector<BlockedSource> XdpMaps::blocked() const { return read_blocks(fds_.blocked.get()); }

std::uint64_t XdpMaps::remove_expired_blocks(std::uint64_t now_ns) {
    std::uint64_t next_expiry = UINT64_MAX;
    std::vector<sluice_source_key> kept;
    for (const BlockedSource& source : blocked()) {
        // The program may have renewed it since it was read: delete only
        // while it is still expired. (A renewal racing this delete loses
        // the block, not the rate limit: the source is still rated.)
        sluice_block_entry current{};
        if (source.entry.expires_ns <= now_ns && bpf_map_lookup_elem(fds_.blocked.get(), &source.key, &current) == 0 &&
            current.expires_ns <= now_ns && bpf_map_delete_elem(fds_.blocked.get(), &source.key) == 0)
            continue;
        kept.push_back(source.key);
        next_expiry =
            std::min<std::uint64_t>(next_expiry, std::max<std::uint64_t>(source.entry.expires_ns, current.expires_ns));
    }
    block_filter_.rebuild(kept);
    return next_expiry;
}

void XdpMaps::rebuild_block_filter() { block_filter_.rebuild(all_keys<sluice_source_key>(fds_.blocked.get())); }

XdpStats XdpMaps::read_stats() const {
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) fail("counting CPUs", -cpus);
    std::vector<sluice_counter> per_cpu(static_cast<std::size_t>(cpus));
    XdpStats stats;
    for (__u32 slot = 0; slot < SLUICE_IFACE_SLOTS; ++slot) {
        for (__u32 stat = 0; stat < SLUICE_STAT_COUNT; ++stat) {
            const __u32 index = slot * SLUICE_STAT_COUNT + stat;
            if (bpf_map_lookup_elem(fds_.stats.get(), &index, per_cpu.data()) != 0) fail("reading XDP stats", errno);
            sluice_counter& sum = stats.slots[slot][stat];
            for (const sluice_counter& c : per_cpu) {
                sum.packets += c.packets;
                sum.bytes += c.bytes;
            }
        }
    }
    return stats;
}

}  // namespace sluice
