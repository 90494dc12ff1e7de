// A fresh, unpinned load of the Sluice XDP program per test, with helpers to
// write its config and lists and to push one packet through BPF_PROG_RUN.
// Modelled on Katran's BpfTester: the program is the unit, maps are its
// inputs and outputs.
#pragma once

#include "packet_builder.h"
#include "sluice_xdp_abi.h"

#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sched.h>

struct sluice_xdp;
struct bpf_map;

namespace sluice::bpftest {

// BPF_PROG_RUN packets arrive on loopback (ifindex 1), which no slot is
// configured for unless a test says so: they count in the spare slot.
inline constexpr std::uint32_t kLoopbackIfindex = 1;
inline constexpr std::uint32_t kTestRunSlot = SLUICE_MAX_INTERFACES;

using StatRow = std::array<sluice_counter, SLUICE_STAT_COUNT>;

inline constexpr std::uint64_t kSecondNs = 1'000'000'000;
inline constexpr std::uint64_t kHourNs = 3600 * kSecondNs;

// A TCP SYN to port 80 from `source`, IPv4 or IPv6 by the address's form.
Packet from(std::string_view source);

// A table row's test name: its description with every other character than
// letters and digits made '_'.
template <class Case>
std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    std::string name;
    for (char ch : info.param.description) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    return name;
}

// Config helpers, mirroring what sluiced writes.
void set_rate(sluice_xdp_config& config, std::uint64_t emission_ns, std::uint64_t burst);
void set_ports(sluice_xdp_config& config, const std::vector<std::uint16_t>& ports);
void set_ipv6_prefix(sluice_xdp_config& config, unsigned prefix);

class XdpFixture : public ::testing::Test {
public:
    // The record write_config() stores. Starts as the program's own default,
    // all zero, apart from the /64 source prefix sluiced uses by default.
    sluice_xdp_config config{};

    void write_config();
    // A source may send one packet an hour; the next blocks it for ten
    // minutes (block_on_exceed). Written.
    void write_one_an_hour_then_blocked();
    // LPM entries; each also bumps the matching count in `config` and writes it.
    void allow(std::string_view cidr);
    void deny(std::string_view cidr);

    // Source keys are computed as the program does, under `config`.
    sluice_source_key source_key(std::string_view address) const;
    // As sluiced blocks a client (XdpMaps::block); false when the map is full.
    bool block(std::string_view address, std::uint64_t expires_ns, std::uint32_t origin = SLUICE_BLOCKED_BY_HTTP);
    // As sluiced unblocks a client (XdpMaps::unblock); whether it was blocked.
    bool unblock(std::string_view address);
    // As sluiced's tick (XdpMaps::remove_expired_blocks, which rebuilds the
    // block filter).
    void remove_expired_blocks();
    // As sluiced after loading (XdpMaps::rebuild_block_filter).
    void rebuild_block_filter();
    // Writes the block map alone, as a block map carried over from another
    // program holds entries its block filter has not seen.
    void write_block_entry_only(std::string_view address, std::uint64_t expires_ns);
    std::optional<sluice_block_entry> block_entry(std::string_view address) const;
    void set_source_state(std::string_view address, std::uint64_t tat_ns);
    std::optional<sluice_source_state> source_state(std::string_view address) const;
    // Every key in the sources map, sorted: what the program chose to track.
    std::vector<std::array<std::uint8_t, 16>> source_keys() const;

    // The XDP action for one run of `packet`.
    int run(const Packet& packet);
    int program_fd() const;
    // Counters of one stats slot, summed over all possible CPUs.
    StatRow stats(std::uint32_t slot = kTestRunSlot) const;

    // The program's clock: bpf_ktime_get_coarse_ns() is CLOCK_MONOTONIC_COARSE.
    static std::uint64_t now_ns();

protected:
    void SetUp() override;
    void TearDown() override;
    virtual std::uint32_t blocked_max_entries() const { return SLUICE_DEFAULT_MAX_BLOCKED; }
    virtual std::uint32_t max_sources() const { return SLUICE_DEFAULT_MAX_SOURCES; }

private:
    void add_to_list(bpf_map* trie, std::string_view cidr, std::uint32_t& entries);

    sluice_xdp* skeleton_ = nullptr;
    // The insert budget is per CPU: pinning keeps every run on one CPU, so a
    // spent budget stays spent between runs.
    cpu_set_t saved_affinity_{};
    bool pinned_ = false;
};

}  // namespace sluice::bpftest
