// The XDP program (bpf/sluice_xdp.bpf.c), differentially: every frame runs
// through the real program with BPF_PROG_RUN and through a reference model
// of the README's verdict order (support/xdp_reference_model.h); the XDP
// action, and which counters moved (exactly the verdict's, plus
// block_map_full when the model says a block was lost), must agree.
//
// An input is a case: its first byte picks the config (port filter on or
// off, block_on_exceed on or off), the rest decodes into up to 12 frames
// (support/fuzzed_frames.h: VLAN stacks, IPv4 options/fragments/bad IHL or
// length, IPv6 extension chains with fragment headers, cuts at any byte, or
// raw bytes), sent one after another so a source can use up its burst, be
// rate-dropped and blocked.
//
// The maps are set once through the controller's own code (make_xdp_config,
// XdpMaps::sync_list, XdpMaps::block): allow and deny CIDRs, IPv4 and IPv6,
// one block in force and one expired. Time is taken out of the comparison
// rather than controlled: the rate is one packet per ~31 years with a burst
// of 3, so nothing refills within a case; the insert budget is 3 new
// sources per case, reset with the source table and the rate's blocks
// before each case. The block map holds 4 entries, so blocks get lost too.
//
// Needs root (BPF_PROG_RUN on an XDP program); without it, or without BPF,
// it says so and exits 77, which ctest reports as skipped.
#include "xdp/abi.h"
#include "xdp/maps.h"
#include "fuzz/support/fuzzed_frames.h"
#include "fuzz/support/xdp_reference_model.h"

#include "sluice_xdp.skel.h"
#include "sluice_xdp_sizes.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace {

using sluice::Cidr;
using sluice::IpAddress;

constexpr std::size_t kMaxFramesPerCase = 12;  // two sources over their burst, and more
constexpr std::uint32_t kMaxSources = 256;     // a small table: cleared before every case
constexpr std::uint32_t kMaxBlocked = 4;       // the three fixed blocks and one more: blocks get lost
constexpr std::uint64_t kBurst = 3;
constexpr double kRatePps = 1e-9;  // one packet per 1e18 ns: nothing refills within a case
constexpr std::uint64_t kInsertIntervalNs = 1'000'000'000'000'000'000;  // likewise for the insert budget...
constexpr std::uint64_t kNewSourcesPerCase = 3;                         // ...which banks this many
// BPF_PROG_RUN without a context runs as if on loopback, which no stats
// slot is configured for: its packets count in the spare slot.
constexpr std::uint32_t kStatsSlot = SLUICE_MAX_INTERFACES;

[[noreturn]] void skip(const std::string& why) {
    std::fprintf(stderr, "xdp_verdict_fuzz: skipped: %s\n", why.c_str());
    std::exit(77);
}

[[noreturn]] void broken(const std::string& what) {
    std::fprintf(stderr, "xdp_verdict_fuzz: %s\n", what.c_str());
    std::abort();
}

Cidr cidr(const char* text) { return *sluice::parse_cidr(text); }
IpAddress address(const char* text) { return *sluice::parse_ip(text); }

const std::vector<Cidr> kAllow = {cidr("192.0.2.0/28"), cidr("2001:db8:a::/48")};
// 192.0.2.8/29 is in the allow list too: allow wins.
const std::vector<Cidr> kDeny = {cidr("198.51.100.0/24"), cidr("192.0.2.8/29"), cidr("2001:db8:d::/48")};
const IpAddress kBlockedV4 = address("203.0.113.7");
const IpAddress kBlockedV6 = address("2001:db8:b:1::1");  // its /64 is blocked
const IpAddress kExpiredBlock = address("203.0.113.8");
const std::vector<std::uint16_t> kPorts = {80, 443, 0};

// Sources the frames are drawn from: listed, blocked, and plain ones (two
// IPv6 addresses share a /64, so they share a budget).
const std::vector<IpAddress> kSources = {
    address("192.0.2.1"),
    address("192.0.2.9"),
    address("198.51.100.5"),
    kBlockedV4,
    kExpiredBlock,
    address("203.0.113.1"),
    address("203.0.113.2"),
    address("203.0.113.3"),
    address("2001:db8:a::1"),
    address("2001:db8:d:5::1"),
    kBlockedV6,
    address("2001:db8:b:1::2"),
    address("2001:db8:c:1::1"),
    address("2001:db8:c:1::2"),
    address("2001:db8:c:2::1"),
    address("::ffff:203.0.113.1"),
};

struct Variant {
    sluice_xdp_config config;
    sluice::fuzz::XdpModelSettings model;
};

// Everything loaded once.
struct Harness {
    sluice_xdp* skeleton = nullptr;
    std::optional<sluice::XdpMaps> maps;
    std::array<Variant, 4> variants{};  // bit 0: port filter, bit 1: block_on_exceed
    int written_variant = -1;
    bool rate_blocks_left = false;  // the last case may have left blocks of its own
    int cpus = 0;
    bool trace = false;  // XDP_VERDICT_FUZZ_TRACE set: every frame and both outcomes on stderr
};

Harness harness;

Variant make_variant(bool port_filter, bool block_on_exceed) {
    sluice::XdpSettings settings;
    settings.rate_pps = kRatePps;
    settings.burst = kBurst;
    settings.ipv6_prefix = 64;
    if (port_filter) settings.ports = kPorts;
    settings.allow = kAllow;
    settings.deny = kDeny;
    settings.block_on_exceed = block_on_exceed ? 3600'000'000'000 : 0;
    settings.max_sources = kMaxSources;
    settings.max_blocked = kMaxBlocked;

    Variant variant;
    variant.config = sluice::make_xdp_config(settings, {});
    if (variant.config.burst_ns != kBurst * variant.config.emission_ns)
        broken("the burst is not a whole number of emission intervals: the model's packet count would be off");
    // make_xdp_config banks a tenth of a second of inserts, which real time
    // refills; a fixed bank, reset per case, keeps the count exact.
    variant.config.insert_interval_ns = kInsertIntervalNs;
    variant.config.insert_burst_ns = kNewSourcesPerCase * kInsertIntervalNs;

    variant.model.allow = settings.allow;
    variant.model.deny = settings.deny;
    variant.model.ports = settings.ports;
    variant.model.burst = kBurst;
    variant.model.block_on_exceed = block_on_exceed;
    variant.model.ipv6_prefix = settings.ipv6_prefix;
    variant.model.blocked = {kBlockedV4, kBlockedV6};
    variant.model.expired_blocks = {kExpiredBlock};
    variant.model.block_list_room = kMaxBlocked - 3;  // the fixed blocks, the expired one too
    variant.model.new_sources = kNewSourcesPerCase;
    return variant;
}

void check(int err, const char* what) {
    if (err) broken(std::string(what) + ": " + std::strerror(err < 0 ? -err : err));
}

// Written again after each case that blocked: a source over its rate
// renews the expired block in place (origin "xdp"), and the reset removes
// the program's blocks.
void write_fixed_blocks() {
    static const std::uint64_t far = sluice::xdp_now_ns() + 10 * 365 * 86400 * 1'000'000'000ull;
    if (!harness.maps->block(sluice::source_key(kBlockedV4, 64), far, SLUICE_BLOCKED_BY_HTTP) ||
        !harness.maps->block(sluice::source_key(kBlockedV6, 64), far, SLUICE_BLOCKED_BY_API) ||
        !harness.maps->block(sluice::source_key(kExpiredBlock, 64), 1, SLUICE_BLOCKED_BY_HTTP))
        broken("writing the fixed blocks failed");
}

void load() {
    if (geteuid() != 0) skip("BPF_PROG_RUN of the XDP program needs root");
    // The insert budget is per CPU: every run on one CPU keeps it exact.
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) broken("pinning to one CPU failed");

    harness.skeleton = sluice_xdp__open();
    if (!harness.skeleton) skip(std::string("opening the XDP program failed: ") + std::strerror(errno));
    check(sluice_xdp_set_sizes(harness.skeleton, kMaxSources, kMaxBlocked), "sizing the maps");
    if (const int err = sluice_xdp__load(harness.skeleton))
        skip(std::string("loading the XDP program failed (BPF unavailable?): ") + std::strerror(-err));
    harness.trace = std::getenv("XDP_VERDICT_FUZZ_TRACE") != nullptr;
    harness.cpus = libbpf_num_possible_cpus();
    if (harness.cpus <= 0) broken("counting CPUs failed");

    sluice::XdpMaps& maps = harness.maps.emplace(*harness.skeleton);
    maps.sync_list(sluice::XdpList::allow, kAllow);
    maps.sync_list(sluice::XdpList::deny, kDeny);
    write_fixed_blocks();
    for (int i = 0; i < 4; ++i) harness.variants[i] = make_variant(i & 1, i & 2);
}

void write_config(int variant) {
    if (harness.written_variant == variant) return;
    harness.maps->write_config(harness.variants[variant].config);
    harness.written_variant = variant;
}

// Every case starts from nothing tracked, a full insert budget, and only the
// fixed blocks.
void reset_state() {
    harness.maps->sources().clear();
    const std::uint32_t zero = 0;
    std::vector<sluice_insert_budget> budgets(static_cast<std::size_t>(harness.cpus));
    check(bpf_map__update_elem(harness.skeleton->maps.insert_budget, &zero, sizeof zero, budgets.data(),
                               budgets.size() * sizeof(sluice_insert_budget), BPF_ANY),
          "resetting the insert budget");
    if (!harness.rate_blocks_left) return;
    for (const sluice::BlockedSource& source : harness.maps->blocked())
        if (source.entry.origin == SLUICE_BLOCKED_BY_RATE) harness.maps->unblock(source.key);
    write_fixed_blocks();
    harness.maps->rebuild_block_filter();
    harness.rate_blocks_left = false;
}

sluice::XdpCounters read_counters() {
    sluice::XdpCounters row{};
    std::vector<sluice_counter> per_cpu(static_cast<std::size_t>(harness.cpus));
    for (std::uint32_t stat = 0; stat < SLUICE_STAT_COUNT; ++stat) {
        const std::uint32_t index = kStatsSlot * SLUICE_STAT_COUNT + stat;
        check(bpf_map__lookup_elem(harness.skeleton->maps.stats, &index, sizeof index, per_cpu.data(),
                                   per_cpu.size() * sizeof(sluice_counter), 0),
              "reading the stats");
        for (const sluice_counter& counter : per_cpu) {
            row[stat].packets += counter.packets;
            row[stat].bytes += counter.bytes;
        }
    }
    return row;
}

int run(const sluice::fuzz::Frame& frame) {
    bpf_test_run_opts opts{};
    opts.sz = sizeof opts;
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<std::uint32_t>(frame.size());
    opts.repeat = 1;
    check(bpf_prog_test_run_opts(bpf_program__fd(harness.skeleton->progs.sluice_xdp), &opts), "BPF_PROG_RUN");
    return static_cast<int>(opts.retval);
}

std::string hex(const sluice::fuzz::Frame& frame) {
    std::string out;
    char byte[4];
    for (std::size_t i = 0; i < frame.size(); ++i) {
        std::snprintf(byte, sizeof byte, "%02x%s", frame[i], i % 16 == 15 ? "\n" : " ");
        out += byte;
    }
    return out;
}

[[noreturn]] void disagree(int variant, std::size_t index, const sluice::fuzz::Frame& frame,
                           const sluice::fuzz::XdpModelOutcome& expected, int action,
                           const sluice::XdpCounters& moved) {
    std::string counters;
    for (unsigned stat = 0; stat < SLUICE_STAT_COUNT; ++stat)
        if (moved[stat].packets) counters += std::string(" ") + sluice::xdp_stat_name(stat);
    std::fprintf(stderr,
                 "xdp_verdict_fuzz: the program and the model disagree on frame %zu of the case (config: port filter "
                 "%s, block_on_exceed %s)\n  model:   action %d, %s%s\n  program: action %d, moved%s\nframe (%zu "
                 "bytes):\n%s\n",
                 index, variant & 1 ? "on" : "off", variant & 2 ? "on" : "off", expected.action,
                 sluice::xdp_stat_name(expected.verdict), expected.block_lost ? " + block_map_full" : "", action,
                 counters.empty() ? " nothing" : counters.c_str(), frame.size(), hex(frame).c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    load();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const int variant = data[0] & 3;
    write_config(variant);
    reset_state();
    sluice::fuzz::XdpReferenceModel model(harness.variants[variant].model);
    const auto frames = sluice::fuzz::decode_frames({data + 1, size - 1}, kSources, kMaxFramesPerCase);
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const sluice::XdpCounters before = read_counters();
        const int action = run(frames[i]);
        const sluice::XdpCounters after = read_counters();
        const sluice::fuzz::XdpModelOutcome expected = model.judge(frames[i]);

        sluice::XdpCounters moved{};
        bool same = action == expected.action;
        for (unsigned stat = 0; stat < SLUICE_STAT_COUNT; ++stat) {
            moved[stat] = {after[stat].packets - before[stat].packets, after[stat].bytes - before[stat].bytes};
            const bool verdict = stat == static_cast<unsigned>(expected.verdict);
            const bool event = stat == SLUICE_EVENT_BLOCK_FULL && expected.block_lost;
            // A verdict counts the frame's bytes; an event counts none.
            same = same && moved[stat].packets == (verdict || event ? 1u : 0u) &&
                   moved[stat].bytes == (verdict ? frames[i].size() : 0u);
        }
        if (harness.trace)
            std::fprintf(stderr, "frame %zu (%zu bytes): model %s%s, program action %d\n%s\n", i, frames[i].size(),
                         sluice::xdp_stat_name(expected.verdict), expected.block_lost ? " + block_map_full" : "",
                         action, hex(frames[i]).c_str());
        if (!same) disagree(variant, i, frames[i], expected, action, moved);
        if (expected.verdict == SLUICE_DROP_RATE) harness.rate_blocks_left = true;
    }
    return 0;
}
