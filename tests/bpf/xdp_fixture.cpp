#include "xdp_fixture.h"

#include "xdp/maps.h"

#include "sluice_xdp.skel.h"
#include "sluice_xdp_sizes.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <time.h>

namespace sluice::bpftest {

Packet from(std::string_view source) {
    if (source.find(':') == std::string_view::npos)
        return PacketBuilder().ipv4(source, "198.51.100.1").tcp(40000, 80).build();
    return PacketBuilder().ipv6(source, "2001:db8:ffff::1").tcp(40000, 80).build();
}

namespace {

// libbpf returns -errno; a failed map write is a broken test, not a verdict.
void check(int err, const std::string& what) {
    if (err) throw std::system_error(-err, std::generic_category(), what);
}

sluice_lpm_key lpm_key(std::string_view cidr) {
    const std::size_t slash = cidr.find('/');
    if (slash == std::string_view::npos) throw std::invalid_argument("CIDR without a prefix: " + std::string(cidr));
    sluice_lpm_key key{};
    const auto address = address_bytes(cidr.substr(0, slash));
    std::memcpy(key.addr, address.data(), sizeof key.addr);
    const unsigned prefix = static_cast<unsigned>(std::stoul(std::string(cidr.substr(slash + 1))));
    // IPv4 prefixes count from the start of the mapped form.
    const bool ipv4 = cidr.find(':') == std::string_view::npos;
    key.prefixlen = ipv4 ? 96 + prefix : prefix;
    return key;
}

}  // namespace

void set_rate(sluice_xdp_config& config, std::uint64_t emission_ns, std::uint64_t burst) {
    config.emission_ns = emission_ns;
    config.burst_ns = burst * emission_ns;
}

void set_ports(sluice_xdp_config& config, const std::vector<std::uint16_t>& ports) {
    config.port_filter = 1;
    for (std::uint16_t port : ports) config.port_bits[port / 64] |= std::uint64_t{1} << (port % 64);
}

void set_ipv6_prefix(sluice_xdp_config& config, unsigned prefix) {
    std::uint8_t mask[16] = {};
    for (unsigned bit = 0; bit < prefix; ++bit) mask[bit / 8] |= static_cast<std::uint8_t>(0x80u >> (bit % 8));
    std::memcpy(config.ipv6_mask, mask, sizeof config.ipv6_mask);
}

void XdpFixture::SetUp() {
    // Pin to the CPU we are on, so every run shares one per-CPU insert budget.
    pinned_ = sched_getaffinity(0, sizeof saved_affinity_, &saved_affinity_) == 0;
    ASSERT_TRUE(pinned_) << std::strerror(errno);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0) << std::strerror(errno);

    skeleton_ = sluice_xdp__open();
    if (skeleton_) {
        check(sluice_xdp_set_sizes(skeleton_, max_sources(), blocked_max_entries()), "size the maps");
        if (const int err = sluice_xdp__load(skeleton_)) {
            sluice_xdp__destroy(skeleton_);
            skeleton_ = nullptr;
            errno = -err;
        }
    }
    if (!skeleton_ && errno == EPERM)
        GTEST_SKIP() << "loading the XDP program needs root (CAP_BPF and CAP_NET_ADMIN); run bpf_tests as root";
    ASSERT_NE(skeleton_, nullptr) << "loading the XDP program failed: " << std::strerror(errno);

    set_ipv6_prefix(config, 64);
    write_config();
}

void XdpFixture::TearDown() {
    sluice_xdp__destroy(skeleton_);
    if (pinned_) sched_setaffinity(0, sizeof saved_affinity_, &saved_affinity_);
}

void XdpFixture::write_config() {
    const std::uint32_t zero = 0;
    check(bpf_map__update_elem(skeleton_->maps.sluice_config, &zero, sizeof zero, &config, sizeof config, BPF_ANY),
          "write sluice_config");
}

void XdpFixture::write_one_an_hour_then_blocked() {
    set_rate(config, kHourNs, 1);
    config.block_ns = 600 * kSecondNs;
    write_config();
}

void XdpFixture::allow(std::string_view cidr) { add_to_list(skeleton_->maps.allow_cidrs, cidr, config.allow_entries); }

void XdpFixture::deny(std::string_view cidr) { add_to_list(skeleton_->maps.deny_cidrs, cidr, config.deny_entries); }

void XdpFixture::add_to_list(bpf_map* trie, std::string_view cidr, std::uint32_t& entries) {
    const sluice_lpm_key key = lpm_key(cidr);
    const std::uint8_t present = 1;
    check(bpf_map__update_elem(trie, &key, sizeof key, &present, sizeof present, BPF_ANY), "add a CIDR");
    ++entries;
    write_config();
}

sluice_source_key XdpFixture::source_key(std::string_view address) const {
    const auto bytes = address_bytes(address);
    sluice_source_key key{};
    std::memcpy(key.addr, bytes.data(), sizeof key.addr);
    const bool ipv4 = std::string_view(address).find(':') == std::string_view::npos;
    if (!ipv4) {
        const auto* mask = reinterpret_cast<const std::uint8_t*>(config.ipv6_mask);
        for (std::size_t i = 0; i < sizeof key.addr; ++i) key.addr[i] &= mask[i];
    }
    return key;
}

bool XdpFixture::block(std::string_view address, std::uint64_t expires_ns, std::uint32_t origin) {
    return XdpMaps(*skeleton_).block(source_key(address), expires_ns, static_cast<sluice_block_origin>(origin));
}

bool XdpFixture::unblock(std::string_view address) { return XdpMaps(*skeleton_).unblock(source_key(address)); }

void XdpFixture::remove_expired_blocks() { XdpMaps(*skeleton_).remove_expired_blocks(now_ns()); }

void XdpFixture::rebuild_block_filter() { XdpMaps(*skeleton_).rebuild_block_filter(); }

void XdpFixture::write_block_entry_only(std::string_view address, std::uint64_t expires_ns) {
    const sluice_source_key key = source_key(address);
    const sluice_block_entry entry{.expires_ns = expires_ns, .origin = SLUICE_BLOCKED_BY_API, .reserved = 0};
    check(bpf_map__update_elem(skeleton_->maps.blocked, &key, sizeof key, &entry, sizeof entry, BPF_ANY),
          "write a block map entry");
}

std::optional<sluice_block_entry> XdpFixture::block_entry(std::string_view address) const {
    const sluice_source_key key = source_key(address);
    sluice_block_entry entry{};
    if (bpf_map__lookup_elem(skeleton_->maps.blocked, &key, sizeof key, &entry, sizeof entry, 0)) return std::nullopt;
    return entry;
}

void XdpFixture::set_source_state(std::string_view address, std::uint64_t tat_ns) {
    XdpMaps(*skeleton_).sources().track(source_key(address), tat_ns);
}

std::optional<sluice_source_state> XdpFixture::source_state(std::string_view address) const {
    return XdpMaps(*skeleton_).sources().state(source_key(address));
}

std::vector<std::array<std::uint8_t, 16>> XdpFixture::source_keys() const {
    std::vector<std::array<std::uint8_t, 16>> keys;
    for (const sluice_source_key& key : XdpMaps(*skeleton_).sources().keys()) {
        std::array<std::uint8_t, 16>& copy = keys.emplace_back();
        std::memcpy(copy.data(), key.addr, copy.size());
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

int XdpFixture::program_fd() const { return bpf_program__fd(skeleton_->progs.sluice_xdp); }

int XdpFixture::run(const Packet& packet) {
    // No context: the kernel then runs the program as if on loopback's
    // first RX queue, which is where loopback_ifindex comes from.
    bpf_test_run_opts opts{};
    opts.sz = sizeof opts;
    opts.data_in = packet.data();
    opts.data_size_in = static_cast<std::uint32_t>(packet.size());
    opts.repeat = 1;
    check(bpf_prog_test_run_opts(program_fd(), &opts), "BPF_PROG_RUN");
    return static_cast<int>(opts.retval);
}

StatRow XdpFixture::stats(std::uint32_t slot) const {
    const int cpus = libbpf_num_possible_cpus();
    check(cpus < 0 ? cpus : 0, "count possible CPUs");
    StatRow row{};
    std::vector<sluice_counter> per_cpu(static_cast<std::size_t>(cpus));
    for (std::uint32_t stat = 0; stat < SLUICE_STAT_COUNT; ++stat) {
        const std::uint32_t index = slot * SLUICE_STAT_COUNT + stat;
        check(bpf_map__lookup_elem(skeleton_->maps.stats, &index, sizeof index, per_cpu.data(),
                                   per_cpu.size() * sizeof(sluice_counter), 0),
              "read stats");
        for (const sluice_counter& counter : per_cpu) {
            row[stat].packets += counter.packets;
            row[stat].bytes += counter.bytes;
        }
    }
    return row;
}

std::uint64_t XdpFixture::now_ns() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(now.tv_nsec);
}

}  // namespace sluice::bpftest
