// ns/packet of the XDP program (bpf/sluice_xdp.bpf.c) under BPF_PROG_RUN,
// each row beside its floor measured in the same run: the hit path against a
// bare XDP_DROP program, a new source and a random-source spray against the
// bench driver tail-calling that same bare XDP_DROP. See bench/README.md.
#include "sluice_xdp.skel.h"
#include "sluice_xdp_abi.h"
#include "sluice_xdp_sizes.h"
#include "spray_driver.skel.h"
#include "steps.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr int kExitSkip = 77;  // ctest's "skipped"

struct Options {
    std::uint32_t repeat = 1'000'000;     // BPF_PROG_RUN repeat per measurement
    int reps = 5;                         // measurements per row; median and min are reported
    std::uint32_t max_sources = 1 << 20;  // xdp.max_sources: the table has two slots each
    std::uint32_t list_entries = 1000;    // CIDRs in each of allow and deny for the "lists" rows
    bool variants = false;                // also the where-does-the-time-go rows
    std::string json;                     // also write the results here
};

[[noreturn]] void fail(const std::string& what, int error) {
    throw std::runtime_error(what + ": " + std::strerror(error));
}

int print_libbpf(libbpf_print_level level, const char* format, va_list args) {
    if (level != LIBBPF_WARN) return 0;
    std::fputs("xdp_bench: libbpf: ", stderr);
    return std::vfprintf(stderr, format, args);
}

// Loading the smallest XDP program there is, to tell "not allowed" apart from
// everything else before libbpf prints verifier noise.
int probe_bpf_permission() {
    const bpf_insn drop[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_DROP},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "probe", "GPL", drop, 2, nullptr);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return errno;
}

// 64 bytes on the wire (no FCS): Ethernet, IPv4 without options, UDP
// 198.18.0.1:40000 -> 198.18.0.2:8080, 22 bytes of payload.
using Packet = std::array<std::uint8_t, 64>;
constexpr std::uint32_t kSource = 0xC6120001;  // 198.18.0.1

Packet make_packet() {
    Packet p{};
    const std::uint8_t eth[14] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00};
    std::memcpy(p.data(), eth, sizeof eth);
    std::uint8_t* ip = p.data() + 14;
    ip[0] = 0x45;
    ip[3] = 50;  // total length: 20 + 8 + 22
    ip[8] = 64;  // TTL
    ip[9] = 17;  // UDP
    const std::uint32_t dest = kSource + 1;
    for (int i = 0; i < 4; ++i) {
        ip[12 + i] = static_cast<std::uint8_t>(kSource >> (24 - 8 * i));
        ip[16 + i] = static_cast<std::uint8_t>(dest >> (24 - 8 * i));
    }
    std::uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = static_cast<std::uint8_t>(~sum >> 8);
    ip[11] = static_cast<std::uint8_t>(~sum);
    std::uint8_t* udp = ip + 20;
    udp[0] = 40000 >> 8, udp[1] = 40000 & 255;
    udp[2] = 8080 >> 8, udp[3] = 8080 & 255;
    udp[5] = 30;  // UDP length; checksum 0 (none)
    return p;
}

// One BPF_PROG_RUN of `repeat` runs: the kernel's per-run average, in ns.
std::uint32_t test_run(int prog_fd, std::uint32_t repeat, std::uint32_t want_retval) {
    Packet in = make_packet();
    std::array<std::uint8_t, 256> out{};
    bpf_test_run_opts opts{};
    opts.sz = sizeof opts;
    opts.data_in = in.data();
    opts.data_size_in = in.size();
    opts.data_out = out.data();
    opts.data_size_out = out.size();
    opts.repeat = static_cast<int>(repeat);
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) fail("BPF_PROG_RUN", errno);
    if (opts.retval != want_retval)
        throw std::runtime_error("BPF_PROG_RUN returned " + std::to_string(opts.retval) + ", expected " +
                                 std::to_string(want_retval));
    return opts.duration;
}

// ---- sluice_xdp ------------------------------------------------------------

sluice_xdp_config base_config() {
    sluice_xdp_config c{};
    c.emission_ns = 1;        // rate_pps 1e9 ...
    c.burst_ns = 1ULL << 62;  // ... and a burst no run gets near: nothing drops
    return c;
}

// The spray budget of the defaults: 20000 new sources per second and CPU,
// 2000 banked.
void with_default_insert_budget(sluice_xdp_config& c) {
    c.insert_interval_ns = 1'000'000'000 / 20'000;
    c.insert_burst_ns = 2000 * c.insert_interval_ns;
}

using Verdicts = std::array<std::uint64_t, SLUICE_VERDICT_COUNT>;

const char* verdict_name(int v) {
    switch (v) {
    case SLUICE_PASS_RATE_OK: return "rate ok";
    case SLUICE_PASS_ALLOWED: return "allowed";
    case SLUICE_PASS_OTHER_PORT: return "other port";
    case SLUICE_PASS_UNPARSED: return "unparsed";
    case SLUICE_PASS_GATED: return "gated";
    case SLUICE_DROP_DENIED: return "denied";
    case SLUICE_DROP_BLOCKED: return "blocked";
    case SLUICE_DROP_RATE: return "dropped by rate";
    default: return "?";
    }
}

struct Prefix {
    std::uint32_t address;  // host order, bits beyond length clear
    std::uint32_t length;
};

// `count` distinct random IPv4 prefixes, /16 to /32 (fixed seed), none
// covering kSource: a list the bench's packet is on none of.
std::vector<Prefix> list_prefixes(std::uint32_t count) {
    std::mt19937 random(42);
    std::vector<Prefix> out;
    while (out.size() < count) {
        const std::uint32_t length = 16 + random() % 17;
        const std::uint32_t mask = length == 32 ? ~0u : ~(~0u >> length);
        const Prefix p{static_cast<std::uint32_t>(random()) & mask, length};
        if ((kSource & mask) == p.address) continue;
        if (std::any_of(out.begin(), out.end(),
                        [&](const Prefix& q) { return q.address == p.address && q.length == p.length; }))
            continue;
        out.push_back(p);
    }
    return out;
}

class Sluice {
public:
    explicit Sluice(std::uint32_t max_sources) : skel_(sluice_xdp__open()) {
        if (!skel_) fail("opening sluice_xdp", errno);
        if (const int err = sluice_xdp_set_sizes(skel_.get(), max_sources, SLUICE_DEFAULT_MAX_BLOCKED))
            fail("sizing sluice_xdp's maps", -err);
        if (sluice_xdp__load(skel_.get()) != 0) fail("loading sluice_xdp", errno);
    }
    int prog() const { return bpf_program__fd(skel_->progs.sluice_xdp); }

    void configure(const sluice_xdp_config& c) {
        const std::uint32_t zero = 0;
        if (bpf_map_update_elem(bpf_map__fd(skel_->maps.sluice_config), &zero, &c, BPF_ANY) != 0)
            fail("writing sluice_config", errno);
    }

    // The same `count` prefixes (see list_prefixes) into allow_cidrs and
    // into deny_cidrs.
    void fill_lists(std::uint32_t count) {
        for (bpf_map* trie : {skel_->maps.allow_cidrs, skel_->maps.deny_cidrs}) {
            for (const Prefix& p : list_prefixes(count)) {
                sluice_lpm_key key{};
                key.prefixlen = 96 + p.length;
                key.addr[10] = key.addr[11] = 0xff;
                for (int i = 0; i < 4; ++i) key.addr[12 + i] = static_cast<std::uint8_t>(p.address >> (24 - 8 * i));
                const std::uint8_t value = 1;
                if (bpf_map_update_elem(bpf_map__fd(trie), &key, &value, BPF_NOEXIST) != 0)
                    fail("filling a list", errno);
            }
        }
    }

    Verdicts verdicts() const {
        const int cpus = libbpf_num_possible_cpus();
        std::vector<sluice_counter> values(static_cast<std::size_t>(cpus));
        Verdicts sum{};
        for (std::uint32_t i = 0; i < SLUICE_STATS_ENTRIES; ++i) {
            const std::uint32_t stat = i % SLUICE_STAT_COUNT;
            if (stat >= SLUICE_VERDICT_COUNT) continue;
            if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.stats), &i, values.data()) != 0)
                fail("reading stats", errno);
            for (const sluice_counter& c : values) sum[stat] += c.packets;
        }
        return sum;
    }

    std::size_t slots() const { return bpf_map__max_entries(skel_->maps.source_tags) * sizeof(sluice_source_tags); }

    // Slots of the sources table holding a source: those with a tag (a slot
    // is never emptied, only given to another source).
    std::size_t tracked_sources() const {
        const bpf_map* tags = skel_->maps.source_tags;
        const std::size_t bytes = slots();
        const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        const std::size_t length = (bytes + page - 1) / page * page;
        void* mapped = mmap(nullptr, length, PROT_READ, MAP_SHARED, bpf_map__fd(tags), 0);
        if (mapped == MAP_FAILED) fail("mapping source_tags", errno);
        const auto* tag = static_cast<const std::uint8_t*>(mapped);
        const std::size_t tracked = bytes - static_cast<std::size_t>(std::count(tag, tag + bytes, 0));
        munmap(mapped, length);
        return tracked;
    }

private:
    struct Destroy {
        void operator()(sluice_xdp* s) const { sluice_xdp__destroy(s); }
    };
    std::unique_ptr<sluice_xdp, Destroy> skel_;
};

// ---- the bench driver --------------------------------------------------------

class Driver {
public:
    Driver() : skel_(spray_driver__open_and_load()) {
        if (!skel_) fail("loading spray_driver", errno);
    }
    int drop() const { return bpf_program__fd(skel_->progs.xdp_drop); }
    int driver() const { return bpf_program__fd(skel_->progs.spray_driver); }
    std::uint64_t runs() const { return skel_->bss->runs; }
    void target(int prog_fd) {
        const std::uint32_t zero = 0;
        if (bpf_map_update_elem(bpf_map__fd(skel_->maps.targets), &zero, &prog_fd, BPF_ANY) != 0)
            fail("filling the tail-call slot", errno);
    }

private:
    struct Destroy {
        void operator()(spray_driver* s) const { spray_driver__destroy(s); }
    };
    std::unique_ptr<spray_driver, Destroy> skel_;
};

// ---- building blocks (bench/bpf/steps.bpf.c) -------------------------------

class Steps {
public:
    explicit Steps(std::uint32_t list_entries) : skel_(steps__open_and_load()) {
        if (!skel_) fail("loading steps", errno);
        std::uint8_t source[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        for (int i = 0; i < 4; ++i) source[12 + i] = static_cast<std::uint8_t>(kSource >> (24 - 8 * i));
        const std::uint64_t tat = 0;
        if (bpf_map_update_elem(bpf_map__fd(skel_->maps.hash16), source, &tat, BPF_ANY) != 0)
            fail("filling hash16", errno);
        for (const Prefix& p : list_prefixes(list_entries)) {
            const std::uint8_t value = 1;
            sluice_lpm_key k16{};
            k16.prefixlen = 96 + p.length;
            k16.addr[10] = k16.addr[11] = 0xff;
            struct {
                std::uint32_t prefixlen;
                std::uint8_t addr[4];
            } k4{p.length, {}};
            for (int i = 0; i < 4; ++i)
                k16.addr[12 + i] = k4.addr[i] = static_cast<std::uint8_t>(p.address >> (24 - 8 * i));
            if (bpf_map_update_elem(bpf_map__fd(skel_->maps.trie16), &k16, &value, BPF_NOEXIST) != 0 ||
                bpf_map_update_elem(bpf_map__fd(skel_->maps.trie4), &k4, &value, BPF_NOEXIST) != 0)
                fail("filling the step tries", errno);
        }
    }
    int clock() const { return bpf_program__fd(skel_->progs.step_clock); }
    int clock_ns() const { return bpf_program__fd(skel_->progs.step_clock_ns); }
    int jiffies() const { return bpf_program__fd(skel_->progs.step_jiffies); }
    int cached_clock() const { return bpf_program__fd(skel_->progs.step_cached_clock); }
    int array() const { return bpf_program__fd(skel_->progs.step_array); }
    int call() const { return bpf_program__fd(skel_->progs.step_call); }
    int hash_hit() const { return bpf_program__fd(skel_->progs.step_hash_hit); }
    int lpm16() const { return bpf_program__fd(skel_->progs.step_lpm16); }
    int lpm4() const { return bpf_program__fd(skel_->progs.step_lpm4); }

private:
    struct Destroy {
        void operator()(steps* s) const { steps__destroy(s); }
    };
    std::unique_ptr<steps, Destroy> skel_;
};

// ---- rows ------------------------------------------------------------------

struct Stat {
    double median = 0;
    std::uint32_t min = 0;
};

Stat summarize(std::vector<std::uint32_t> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
    return {median, v.front()};
}

// The verdicts a row's runs got, from sluice_xdp's stats map.
struct Mix {
    std::string shares;  // "1.17% rate ok, 98.83% gated"
    std::uint64_t packets = 0;
};

Mix describe(const Verdicts& before, const Verdicts& after) {
    Mix mix;
    Verdicts delta{};
    for (int v = 0; v < SLUICE_VERDICT_COUNT; ++v) mix.packets += delta[v] = after[v] - before[v];
    for (int v = 0; v < SLUICE_VERDICT_COUNT && mix.packets; ++v) {
        if (!delta[v]) continue;
        char part[64];
        std::snprintf(part, sizeof part, "%s%.2f%% %s", mix.shares.empty() ? "" : ", ",
                      100.0 * static_cast<double>(delta[v]) / static_cast<double>(mix.packets), verdict_name(v));
        mix.shares += part;
    }
    return mix;
}

struct Result {
    std::string id;  // the row's key in the JSON output; variants have none
    std::string name;
    std::string floor_name;
    Stat row;
    Stat floor;
    double goal = 0;  // 0: informational
    std::optional<Mix> mix;
    std::string note;
    double ratio() const { return row.median / floor.median; }
};

// Runs `floor` and `row` alternately, opts.reps times each. `before_rep` runs
// before each pair, untimed (e.g. a fresh program for the "filling" row).
struct Measure {
    const Options& options;

    std::pair<Stat, Stat> pairs(const std::function<std::uint32_t()>& floor, const std::function<std::uint32_t()>& row,
                                const std::function<void()>& before_rep = {}) const {
        std::vector<std::uint32_t> f, r;
        for (int i = 0; i < options.reps; ++i) {
            if (before_rep) before_rep();
            f.push_back(floor());
            r.push_back(row());
        }
        return {summarize(f), summarize(r)};
    }
};

void print_table(const char* title, const std::vector<Result>& results) {
    std::printf("\n%s\n%-46s %9s %5s  %-25s %8s %6s %5s  %s\n", title, "row", "ns/packet", "min", "floor", "floor ns",
                "ratio", "goal", "result");
    for (const Result& r : results) {
        char goal[16] = "-", verdict[16] = "-";
        if (r.goal > 0) {
            std::snprintf(goal, sizeof goal, "<=%.0fx", r.goal);
            std::snprintf(verdict, sizeof verdict, "%s", r.ratio() <= r.goal ? "pass" : "miss");
        }
        std::printf("%-46s %9.1f %5u  %-25s %8.1f %5.2fx %5s  %s\n", r.name.c_str(), r.row.median, r.row.min,
                    r.floor_name.c_str(), r.floor.median, r.ratio(), goal, verdict);
    }
    std::printf("\nverdict mix (sluice_xdp's stats map, all timed runs of the row):\n");
    for (const Result& r : results) {
        if (!r.mix) continue;
        if (r.mix->packets == 0)
            std::printf("  %-44s no packets counted\n", r.name.c_str());
        else
            std::printf("  %-44s %s (%llu packets)\n", r.name.c_str(), r.mix->shares.c_str(),
                        static_cast<unsigned long long>(r.mix->packets));
        if (!r.note.empty()) std::printf("  %-44s %s\n", "", r.note.c_str());
    }
}

void pin_to_last_cpu() {
    cpu_set_t set;
    CPU_ZERO(&set);
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    CPU_SET(static_cast<int>(cpus - 1), &set);
    sched_setaffinity(0, sizeof set, &set);  // best effort: steadier figures, one CPU's insert budget
}

struct Results {
    std::vector<Result> rows;      // the rows, with goals
    std::vector<Result> variants;  // --variants: where the time goes
};

Results run_all(const Options& o) {
    const Measure m{o};
    Results results;
    std::vector<Result>* out = &results.rows;
    Driver d;
    const std::uint32_t N = o.repeat;
    const auto floor_a = [&] { return test_run(d.drop(), N, XDP_DROP); };
    const auto floor_b = [&] {
        d.target(d.drop());
        return test_run(d.driver(), N, XDP_DROP);
    };
    const char* kFloorA = "bare XDP_DROP";
    const char* kFloorB = "driver + tail call + DROP";

    // The floor against itself: how far two measurements of one thing differ.
    {
        auto [a, b] = m.pairs(floor_a, floor_a);
        out->push_back({"floor", "bare XDP_DROP", kFloorA, b, a, 0, {}, {}});
    }

    // Hit path: one tracked source, nothing drops.
    auto hit_row = [&](const std::string& id, const std::string& name, std::uint32_t lists,
                       const std::function<void(sluice_xdp_config&)>& tweak, double goal) {
        Sluice s(o.max_sources);
        sluice_xdp_config c = base_config();
        if (lists) {
            s.fill_lists(lists);
            c.allow_entries = c.deny_entries = lists;
        }
        if (tweak) tweak(c);
        s.configure(c);
        test_run(s.prog(), 1, XDP_PASS);  // tracks the source
        const Verdicts before = s.verdicts();
        auto [floor, row] = m.pairs(floor_a, [&] { return test_run(s.prog(), N, XDP_PASS); });
        out->push_back({id, name, kFloorA, row, floor, goal, describe(before, s.verdicts()), {}});
    };
    hit_row("hit", "hit path", 0, {}, 2);
    hit_row("hit_cidrs",
            "hit path, " + std::to_string(o.list_entries) + "+" + std::to_string(o.list_entries) + " CIDRs",
            o.list_entries, {}, 2);

    // Floor B alone, against floor A: what the driver and the tail call cost.
    {
        auto [a, b] = m.pairs(floor_a, floor_b);
        out->push_back({"driver_floor", "(driver floor itself)", kFloorA, b, a, 0, {}, {}});
    }

    // New source, table filling: a fresh program (empty table) per
    // measurement, `fill` distinct sources (half of max_sources, a quarter of
    // the slots), each tracked as it comes.
    const std::uint32_t fill = std::min(N, o.max_sources / 2);
    {
        std::unique_ptr<Sluice> s;
        Verdicts mix{};
        std::size_t tracked = 0;
        std::uint64_t runs_before = 0, runs_after = 0;
        auto [floor, row] = m.pairs(
            [&] {
                d.target(d.drop());
                return test_run(d.driver(), fill, XDP_DROP);
            },
            [&] {
                d.target(s->prog());
                const Verdicts before = s->verdicts();
                runs_before = d.runs();
                const std::uint32_t ns = test_run(d.driver(), fill, XDP_PASS);
                runs_after = d.runs();
                const Verdicts after = s->verdicts();
                for (int v = 0; v < SLUICE_VERDICT_COUNT; ++v) mix[v] += after[v] - before[v];
                tracked = s->tracked_sources();
                return ns;
            },
            [&] {
                s.reset();
                s = std::make_unique<Sluice>(o.max_sources);
                s->configure(base_config());  // insert budget unlimited
            });
        char note[160];
        std::snprintf(note, sizeof note, "last run: %llu distinct sources sent, %zu tracked after it (%zu slots)",
                      static_cast<unsigned long long>(runs_after - runs_before), tracked, s->slots());
        const std::string name =
            "new source, filling 0->" + std::to_string(100 * fill / o.max_sources) + "% of max_sources";
        out->push_back({"new_source_filling", name, kFloorB, row, floor, 0, describe(Verdicts{}, mix), note});
    }

    // New source, full table: twice as many sources as slots were tracked
    // first, which fills nearly every bucket, so each new one takes the slot
    // of the least active source of its bucket.
    Sluice full(o.max_sources);
    full.configure(base_config());
    d.target(full.prog());
    for (std::size_t sent = 0; sent < 2 * full.slots(); sent += N) test_run(d.driver(), N, XDP_PASS);
    {
        const Verdicts before = full.verdicts();
        auto [floor, row] = m.pairs(floor_b, [&] {
            d.target(full.prog());
            return test_run(d.driver(), N, XDP_PASS);
        });
        const std::string note = std::to_string(full.tracked_sources()) + " tracked after the row (" +
                                 std::to_string(full.slots()) + " slots)";
        out->push_back({"new_source_evicting", "new source, full table (evicting)", kFloorB, row, floor, 0,
                        describe(before, full.verdicts()), note});
    }

    // Spray: the same full table, the default insert budget: an untracked
    // source and PASS_GATED for nearly every packet.
    auto spray_row = [&](const std::string& id, const std::string& name, Sluice& s, const sluice_xdp_config& c,
                         double goal) {
        s.configure(c);
        const Verdicts before = s.verdicts();
        auto [floor, row] = m.pairs(floor_b, [&] {
            d.target(s.prog());
            return test_run(d.driver(), N, XDP_PASS);
        });
        out->push_back({id, name, kFloorB, row, floor, goal, describe(before, s.verdicts()), {}});
    };
    sluice_xdp_config spray = base_config();
    with_default_insert_budget(spray);
    spray_row("spray", "spray (full table, default budget)", full, spray, 4);

    if (o.variants) {
        out = &results.variants;
        // Where the time goes: the same paths with steps switched off by config.
        sluice_xdp_config no_rate = base_config();
        no_rate.emission_ns = 0;  // parse, tags, block filter, clock, stats: nothing tracked
        hit_row(
            {}, "variant: hit, rate off (source untracked)", 0, [](sluice_xdp_config& c) { c.emission_ns = 0; }, 0);
        hit_row(
            {}, "variant: hit, port filter on (port limited)", 0,
            [](sluice_xdp_config& c) {
                c.port_filter = 1;
                c.port_bits[8080 >> 6] |= 1ULL << (8080 & 63);
            },
            0);
        hit_row(
            {}, "variant: hit, port filter on (other port)", 0, [](sluice_xdp_config& c) { c.port_filter = 1; }, 0);
        hit_row(
            {}, "variant: hit, " + std::to_string(o.list_entries) + " CIDRs, allow only", o.list_entries,
            [](sluice_xdp_config& c) { c.deny_entries = 0; }, 0);
        spray_row({}, "variant: spray, full table, rate off", full, no_rate, 0);
        {
            Sluice empty(o.max_sources);
            spray_row({}, "variant: spray, empty table", empty, spray, 0);
        }
        for (std::uint32_t size : {8192u, 65536u}) {
            Sluice small(size);
            small.configure(base_config());
            d.target(small.prog());
            test_run(d.driver(), static_cast<std::uint32_t>(2 * small.slots()), XDP_PASS);  // nearly every slot
            const std::string name = "variant: spray, full table for " + std::to_string(size / 1024) + "k sources";
            spray_row({}, name, small, spray, 0);
        }
        {
            Sluice listed(o.max_sources);
            listed.fill_lists(o.list_entries);
            sluice_xdp_config c = spray;
            c.allow_entries = c.deny_entries = o.list_entries;
            spray_row({}, "variant: spray, empty table, lists", listed, c, 0);
        }
        {
            Steps st(o.list_entries);
            auto step_row = [&](const std::string& name, int prog) {
                auto [floor, row] = m.pairs(floor_a, [&] { return test_run(prog, N, XDP_DROP); });
                out->push_back({{}, name, kFloorA, row, floor, 0, {}, {}});
            };
            step_row("step: bpf_get_prandom_u32() (a call)", st.call());
            step_row("step: bpf_ktime_get_coarse_ns()", st.clock());
            step_row("step: bpf_ktime_get_ns()", st.clock_ns());
            step_row("step: bpf_jiffies64()", st.jiffies());
            step_row("step: coarse clock cached per CPU", st.cached_clock());
            step_row("step: array lookup (inlined), 128-byte value", st.array());
            step_row("step: hash lookup hit, 16-byte key", st.hash_hit());
            step_row("step: LPM miss, " + std::to_string(o.list_entries) + " prefixes, 16B keys", st.lpm16());
            step_row("step: LPM miss, " + std::to_string(o.list_entries) + " prefixes, 4B keys", st.lpm4());
        }
    }
    return results;
}

// A JSON string: the row titles hold nothing but printable ASCII.
std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

void write_rows(std::FILE* f, const std::vector<Result>& rows) {
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Result& r = rows[i];
        std::fprintf(f,
                     "    {%s\"title\": %s, \"median_ns\": %.1f, \"min_ns\": %u, \"floor\": %s, \"floor_ns\": %.1f, "
                     "\"ratio\": %.3f",
                     r.id.empty() ? "" : ("\"id\": " + quoted(r.id) + ", ").c_str(), quoted(r.name).c_str(),
                     r.row.median, r.row.min, quoted(r.floor_name).c_str(), r.floor.median, r.ratio());
        if (r.goal > 0) std::fprintf(f, ", \"goal_ratio\": %g", r.goal);
        if (r.mix)
            std::fprintf(f, ", \"verdicts\": %s, \"packets\": %llu", quoted(r.mix->shares).c_str(),
                         static_cast<unsigned long long>(r.mix->packets));
        if (!r.note.empty()) std::fprintf(f, ", \"note\": %s", quoted(r.note).c_str());
        std::fprintf(f, "}%s\n", i + 1 < rows.size() ? "," : "");
    }
}

void write_json(const std::string& path, const Options& o, double load_average, const Results& results) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) fail("writing " + path, errno);
    std::fprintf(f, "{\n  \"repeat\": %u,\n  \"reps\": %d,\n  \"max_sources\": %u,\n  \"load_average\": %.2f,\n",
                 o.repeat, o.reps, o.max_sources, load_average);
    std::fprintf(f, "  \"rows\": [\n");
    write_rows(f, results.rows);
    std::fprintf(f, "  ],\n  \"variants\": [\n");
    write_rows(f, results.variants);
    std::fprintf(f, "  ]\n}\n");
    if (std::fclose(f) != 0) fail("writing " + path, errno);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::uint32_t {
            if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
            return static_cast<std::uint32_t>(std::stoul(argv[++i]));
        };
        if (arg == "--repeat")
            o.repeat = value();
        else if (arg == "--reps")
            o.reps = static_cast<int>(value());
        else if (arg == "--max-sources")
            o.max_sources = value();
        else if (arg == "--list-entries")
            o.list_entries = value();
        else if (arg == "--variants")
            o.variants = true;
        else if (arg == "--json" && i + 1 < argc)
            o.json = argv[++i];
        else {
            std::fprintf(stderr,
                         "usage: xdp_bench [--repeat N] [--reps R] [--max-sources N] [--list-entries N] "
                         "[--variants] [--json FILE]\n");
            std::exit(arg == "--help" || arg == "-h" ? 0 : 2);
        }
    }
    if (o.repeat == 0 || o.reps <= 0 || o.max_sources < 2) throw std::runtime_error("bad arguments");
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Options o = parse(argc, argv);
        if (const int error = probe_bpf_permission(); error != 0) {
            if (error == EPERM || error == EACCES) {
                std::fprintf(stderr, "xdp_bench needs root (CAP_BPF) to load BPF programs\n");
                return kExitSkip;
            }
            fail("loading a test XDP program", error);
        }
        libbpf_set_print(print_libbpf);
        pin_to_last_cpu();
        std::printf("xdp_bench: BPF_PROG_RUN, 64-byte IPv4/UDP packet, repeat %u, median of %d (min beside it)\n",
                    o.repeat, o.reps);
        double load_average = 0;  // other work on the machine moves the memory-bound rows
        if (FILE* f = std::fopen("/proc/loadavg", "r")) {
            char line[64] = "";
            if (std::fgets(line, sizeof line, f)) {
                std::printf("load average at start: %s", line);
                load_average = std::strtod(line, nullptr);
            }
            std::fclose(f);
        }
        const Results results = run_all(o);
        print_table("ns/packet, median of the runs; ratio = median / floor median", results.rows);
        if (o.variants) print_table("variants: where the time goes (no goals)", results.variants);
        if (!o.json.empty()) write_json(o.json, o, load_average, results);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "xdp_bench: %s\n", e.what());
        return 1;
    }
}
