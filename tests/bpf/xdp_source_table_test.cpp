// The table of tracked sources: which source a full bucket lets go, and that
// CPUs writing one bucket at once leave whole slots the program finds again.
#include "packet_builder.h"
#include "xdp_fixture.h"

#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sluice::bpftest {
namespace {

// One bucket (two slots per source): every source competes for its slots.
class XdpOneBucketTest : public XdpFixture {
protected:
    std::uint32_t max_sources() const override { return SLUICE_SOURCE_WAYS / SLUICE_SLOTS_PER_SOURCE; }
};

TEST_F(XdpOneBucketTest, ANewSourceTakesTheSlotOfTheLeastActive) {
    set_rate(config, kSecondNs, 10);
    write_config();
    std::vector<std::array<std::uint8_t, 16>> kept;
    for (int way = 0; way < SLUICE_SOURCE_WAYS; ++way) {
        const std::string source = "192.0.2." + std::to_string(10 + way);
        if (way == 2) {
            set_source_state(source, 1);  // quiet since boot
        } else {
            set_source_state(source, now_ns() + 5 * kSecondNs);  // sending
            kept.push_back(address_bytes(source));
        }
    }
    EXPECT_EQ(run(from("192.0.2.1")), XDP_PASS);
    EXPECT_EQ(stats()[SLUICE_PASS_RATE_OK].packets, 1u);
    kept.push_back(address_bytes("192.0.2.1"));
    std::sort(kept.begin(), kept.end());
    EXPECT_EQ(source_keys(), kept);
}

TEST_F(XdpOneBucketTest, ASourceOverItsRateStaysTrackedThroughASpray) {
    set_rate(config, kHourNs, 2);
    write_config();
    const Packet flood = from("192.0.2.1");
    ASSERT_EQ(run(flood), XDP_PASS);
    ASSERT_EQ(run(flood), XDP_PASS);
    ASSERT_EQ(run(flood), XDP_DROP);

    for (int i = 10; i < 30; ++i) ASSERT_EQ(run(from("192.0.2." + std::to_string(i))), XDP_PASS) << i;
    EXPECT_TRUE(source_state("192.0.2.1"));
    EXPECT_EQ(run(flood), XDP_DROP);
    EXPECT_EQ(stats()[SLUICE_DROP_RATE].packets, 2u);
}

TEST_F(XdpOneBucketTest, TheAllZeroSourceIsTrackedLikeAnyOther) {
    set_rate(config, kHourNs, 1);
    write_config();
    EXPECT_EQ(run(from("::")), XDP_PASS);
    EXPECT_EQ(source_keys(), std::vector{address_bytes("::")});
    EXPECT_EQ(run(from("::")), XDP_DROP);
    EXPECT_EQ(stats()[SLUICE_DROP_RATE].packets, 1u);
}

// A driver for many sources in one BPF_PROG_RUN: each run writes a random
// x in 0..7 into bytes 3 and 15 of the IPv6 source, then tail-calls
// `target`. Raw instructions: the tests build no BPF objects of their own.
class SourceSprayDriver {
public:
    explicit SourceSprayDriver(int target) {
        targets_ = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "spray_targets", 4, 4, 1, nullptr);
        const __u32 zero = 0;
        if (targets_ < 0 || bpf_map_update_elem(targets_, &zero, &target, BPF_ANY) != 0)
            throw std::runtime_error(std::string("spray driver's prog array: ") + std::strerror(errno));
        constexpr std::int16_t source = 14 + 8;  // Ethernet, then the IPv6 source address
        const bpf_insn program[] = {
            {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0},
            {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_prandom_u32},
            {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_7, BPF_REG_0, 0, 0},
            {BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_7, 0, 0, 7},
            {BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_6, 0, 0},  // ctx->data
            {BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_6, 4, 0},  // ctx->data_end
            {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_2, 0, 0},
            {BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, 14 + 40},
            {BPF_JMP | BPF_JGT | BPF_X, BPF_REG_4, BPF_REG_3, 7, 0},  // too short: abort
            {BPF_STX | BPF_MEM | BPF_B, BPF_REG_2, BPF_REG_7, source + 3, 0},
            {BPF_STX | BPF_MEM | BPF_B, BPF_REG_2, BPF_REG_7, source + 15, 0},
            {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0},
            {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2, BPF_PSEUDO_MAP_FD, 0, targets_},
            {0, 0, 0, 0, 0},
            {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 0},
            {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call},
            {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_ABORTED},
            {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
        };
        // As libbpf loads SEC("xdp"): a tail call needs both ends alike.
        LIBBPF_OPTS(bpf_prog_load_opts, options, .expected_attach_type = BPF_XDP);
        fd_ = bpf_prog_load(BPF_PROG_TYPE_XDP, "spray_driver", "GPL", program, std::size(program), &options);
        if (fd_ < 0) throw std::runtime_error(std::string("loading the spray driver: ") + std::strerror(errno));
    }
    ~SourceSprayDriver() {
        if (fd_ >= 0) close(fd_);
        if (targets_ >= 0) close(targets_);
    }
    // `runs` runs of `packet` on this CPU; the XDP action of the last.
    int run(const Packet& packet, std::uint32_t runs) const {
        bpf_test_run_opts opts{};
        opts.sz = sizeof opts;
        opts.data_in = packet.data();
        opts.data_size_in = static_cast<std::uint32_t>(packet.size());
        opts.repeat = runs;
        if (bpf_prog_test_run_opts(fd_, &opts) != 0) return -errno;
        return static_cast<int>(opts.retval);
    }

private:
    int targets_ = -1;
    int fd_ = -1;
};

// Both CPUs track eight sources in one bucket of four slots as fast as they
// can, taking slots from each other all the time. After it, every slot holds
// a whole key (bytes 3 and 15 from one run), none is left busy, and the
// program finds each again (its tag is right) without tracking anew. (The
// end state only: a race that heals itself leaves no trace here.)
TEST_F(XdpOneBucketTest, CpusTrackingSourcesAtOnceLeaveWholeSlots) {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs two CPUs";
    set_rate(config, 1, 1'000'000'000);  // nothing over its rate
    set_ipv6_prefix(config, 128);
    write_config();  // insert budget unlimited
    const SourceSprayDriver driver(program_fd());
    const Packet packet = from("2001:db8::1");
    constexpr std::uint32_t runs = 500'000;
    std::array<int, 2> actions{};
    std::vector<std::thread> cpus;
    for (int cpu = 0; cpu < 2; ++cpu) {
        cpus.emplace_back([&, cpu] {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            actions[cpu] = sched_setaffinity(0, sizeof one, &one) == 0 ? driver.run(packet, runs) : -1;
        });
    }
    for (std::thread& t : cpus) t.join();
    ASSERT_EQ(actions, (std::array<int, 2>{XDP_PASS, XDP_PASS}));
    // Both CPUs on one source at once: one that loses three compare-and-swaps
    // in a row is refused, which may happen a few times.
    const StatRow row = stats();
    EXPECT_EQ(row[SLUICE_PASS_RATE_OK].packets + row[SLUICE_DROP_RATE].packets, 2u * runs);
    EXPECT_LT(row[SLUICE_DROP_RATE].packets, runs / 1000);

    const auto tracked = source_keys();
    ASSERT_EQ(tracked.size(), static_cast<std::size_t>(SLUICE_SOURCE_WAYS)) << "a slot left empty or busy";
    config.insert_interval_ns = kHourNs;  // no new source tracked from here on
    config.insert_burst_ns = 0;
    write_config();
    for (const auto& key : tracked) {
        EXPECT_EQ(key[3], key[15]) << "a torn key";
        Packet again = packet;
        again[14 + 8 + 3] = key[3];
        again[14 + 8 + 15] = key[15];
        EXPECT_EQ(run(again), XDP_PASS);
        EXPECT_EQ(stats()[SLUICE_PASS_GATED].packets, 0u) << "a tracked source not found";
    }
}

}  // namespace
}  // namespace sluice::bpftest
