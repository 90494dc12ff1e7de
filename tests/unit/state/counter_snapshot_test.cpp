#include "state/counter_snapshot.h"
#include "store/local_store.h"

#include "tests/support/error_of.h"
#include "tests/support/fake_clock.h"
#include "tests/support/file_mode.h"
#include "tests/support/temp_folder.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <limits>
#include <random>

using namespace std::chrono_literals;

namespace sluice {
namespace {

constexpr Nanos kSecond = 1'000'000'000;
const auto kWall = std::chrono::system_clock::time_point(std::chrono::seconds(1'750'000'000));

bool same(const LimitState& a, const LimitState& b) {
    return a.time == b.time && a.hold_until == b.hold_until && a.current == b.current && a.previous == b.previous &&
           a.blocked == b.blocked;
}

LimitState state(Nanos time, Nanos hold_until, std::uint32_t current, std::uint32_t previous, bool blocked) {
    LimitState s;
    s.time = time;
    s.hold_until = hold_until;
    s.current = current;
    s.previous = previous;
    s.blocked = blocked;
    return s;
}

CounterSnapshot sample() {
    CounterSnapshot s;
    s.k0 = 0x0123456789abcdef;
    s.k1 = 0xfedcba9876543210;
    s.saved_steady = 5'000 * kSecond;
    s.saved_unix_ns = 1'750'000'000 * kSecond;
    s.entries = {{7, state(5'060 * kSecond, 0, 3, 0, false)},
                 {0xffffffffffffffff, state(5'010 * kSecond, 5'300 * kSecond, 2'000'000'000, 0x7fffffff, true)},
                 {42, state(4'990 * kSecond, 5'001 * kSecond, 0, 9, false)}};
    return s;
}

std::string reason(const std::string& bytes) {
    return testing::error_of([&] { decode_counters(bytes); });
}

TEST(CounterSnapshot, RoundTripKeepsKeyClocksAndExactStates) {
    const CounterSnapshot saved = sample();
    const std::string bytes = encode_counters(saved);
    EXPECT_EQ(bytes.size(), 64u + 3 * 32u);
    EXPECT_EQ(bytes.substr(0, 8), "SLUICEQC");
    const CounterSnapshot loaded = decode_counters(bytes);
    EXPECT_EQ(loaded.k0, saved.k0);
    EXPECT_EQ(loaded.k1, saved.k1);
    EXPECT_EQ(loaded.saved_steady, saved.saved_steady);
    EXPECT_EQ(loaded.saved_unix_ns, saved.saved_unix_ns);
    ASSERT_EQ(loaded.entries.size(), saved.entries.size());
    for (std::size_t i = 0; i < saved.entries.size(); ++i) {
        EXPECT_EQ(loaded.entries[i].key, saved.entries[i].key);
        EXPECT_TRUE(same(loaded.entries[i].state, saved.entries[i].state)) << i;
    }
}

TEST(CounterSnapshot, TimesMoveToTheNewSteadyClockByTheWallTimeSinceTheSave) {
    CounterSnapshot s = sample();
    // A reboot: the new steady clock is at 100 s, 30 s of wall time after the save.
    move_to_clock(s, {100 * kSecond, kWall + 30s});
    // The save happened at 70 s on the new clock: every time moves by 70 - 5000 s.
    EXPECT_EQ(s.saved_steady, 70 * kSecond);
    EXPECT_TRUE(same(s.entries[0].state, state(130 * kSecond, 0, 3, 0, false))) << "a zero hold stays zero";
    EXPECT_TRUE(same(s.entries[1].state, state(80 * kSecond, 370 * kSecond, 2'000'000'000, 0x7fffffff, true)));
    EXPECT_EQ(s.entries[2].state.time, 60 * kSecond);
    EXPECT_EQ(s.entries[2].state.hold_until, 71 * kSecond);
}

TEST(CounterSnapshot, AWallClockThatWentBackCountsAsNoTimePassed) {
    CounterSnapshot s = sample();
    move_to_clock(s, {9'000 * kSecond, kWall - 1h});
    EXPECT_EQ(s.saved_steady, 9'000 * kSecond);
    EXPECT_EQ(s.entries[0].state.time, 9'060 * kSecond);
}

// Found by counter_snapshot_fuzz: a file (checksum intact) saved at the
// lowest Nanos made move_to_clock negate it, which overflows. The save then
// lies as far back as Nanos reach: every time is held at the ends instead.
TEST(CounterSnapshot, TimesAtTheEndsOfNanosAreHeldThereNotOverflowed) {
    constexpr Nanos kLowest = std::numeric_limits<Nanos>::min();
    constexpr Nanos kHighest = std::numeric_limits<Nanos>::max();
    CounterSnapshot s = sample();
    s.saved_unix_ns = kLowest;
    s.saved_steady = kLowest;
    move_to_clock(s, {100 * kSecond, kWall});
    EXPECT_EQ(s.saved_steady, 100 * kSecond - kHighest) << "saved as long ago as Nanos reach";
    EXPECT_EQ(s.entries[0].state.hold_until, 0) << "a zero hold stays zero";

    s = sample();
    s.saved_steady = kLowest;
    s.entries[0].state.time = kHighest;
    move_to_clock(s, {100 * kSecond, kWall});
    EXPECT_EQ(s.entries[0].state.time, kHighest);
}

class CounterFileTest : public ::testing::Test {
protected:
    LimitParams fixed = LimitParams::from(testing::make_quota("f", "", 5, 1h, Algorithm::fixed_window));
    LimitParams bucket = LimitParams::from(testing::make_quota("b", "", 5, 1h, Algorithm::token_bucket));
    testing::FakeClock clock;
    testing::TempFolder dir;

    bool hit(LocalStore& store, const LimitParams& p, std::uint64_t key, Nanos now, CheckResult& result) {
        const QuotaCheck check{&p, key, true};
        return store.acquire({&check, 1}, now, {&result, 1}) == StoreReply::admitted;
    }
    ClockReading at(Nanos steady, std::chrono::system_clock::duration after) const { return {steady, kWall + after}; }
    // Writes `s` as counters.bin and loads it at 5000 s into `store`: what the
    // refusal says, after the file's name ("" when it loaded).
    std::string refusal(const CounterSnapshot& s, LocalStore& store) {
        const std::filesystem::path file = dir.write("counters.bin", encode_counters(s));
        try {
            load_counters(dir.path(), store, at(5'000 * kSecond, 0s));
        } catch (const std::runtime_error& e) {
            const std::string what = e.what();
            return what.starts_with(file.string() + ": ") ? what.substr(file.string().size() + 2) : what;
        }
        return "";
    }
};

TEST_F(CounterFileTest, SaveThenLoadContinuesEveryCounterAsAContinuousRunWould) {
    LocalStore before(1000), continuous(1000);
    CheckResult r;
    for (LocalStore* store : {&before, &continuous}) {
        for (int i = 0; i < 3; ++i) EXPECT_TRUE(hit(*store, fixed, 11, clock.now(), r));
        for (int i = 0; i < 5; ++i) EXPECT_TRUE(hit(*store, bucket, 22, clock.now(), r));
        EXPECT_FALSE(hit(*store, bucket, 22, clock.now(), r));
    }
    const KeyedHasher hasher(0x1111, 0x2222);
    EXPECT_EQ(save_counters(dir.path(), hasher, before, at(clock.now(), 0s)), 2u);
    EXPECT_EQ(testing::mode_of(counters_file(dir.path())), 0600u) << "the file holds the hasher key";

    // Restarted 90 s later on a new boot, its steady clock at 20 s.
    LocalStore after(1000);
    const std::optional<RestoredCounters> loaded = load_counters(dir.path(), after, at(20 * kSecond, 90s));
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->hasher.k0(), 0x1111u);
    EXPECT_EQ(loaded->hasher.k1(), 0x2222u);
    EXPECT_EQ(loaded->saved, 2u);
    EXPECT_EQ(loaded->restored, 2u);
    EXPECT_EQ(loaded->age, 90 * kSecond);
    EXPECT_EQ(after.tracked_keys(), 2u);

    const Nanos later = clock.now() + 90 * kSecond, here = 20 * kSecond;
    CheckResult expected, got;
    EXPECT_FALSE(hit(continuous, bucket, 22, later, expected));
    EXPECT_FALSE(hit(after, bucket, 22, here, got));
    EXPECT_EQ(got.evaluation.retry_after, expected.evaluation.retry_after);
    EXPECT_EQ(got.evaluation.reset, expected.evaluation.reset);
    for (int i = 0; i < 2; ++i) {
        EXPECT_TRUE(hit(continuous, fixed, 11, later, expected));
        EXPECT_TRUE(hit(after, fixed, 11, here, got));
        EXPECT_EQ(got.evaluation.remaining, expected.evaluation.remaining);
        EXPECT_EQ(got.evaluation.reset, expected.evaluation.reset);
    }
    EXPECT_FALSE(hit(after, fixed, 11, here, got));
    EXPECT_EQ(got.evaluation.retry_after, 3510 * kSecond);
}

TEST_F(CounterFileTest, CountersIdleByTheRestartAreNotRestored) {
    LocalStore before(1000);
    CheckResult r;
    EXPECT_TRUE(hit(before, fixed, 11, clock.now(), r));
    const LimitParams short_window = LimitParams::from(testing::make_quota("s", "", 5, 10s, Algorithm::fixed_window));
    EXPECT_TRUE(hit(before, short_window, 33, clock.now(), r));
    save_counters(dir.path(), KeyedHasher(1, 2), before, at(clock.now(), 0s));
    LocalStore after(1000);
    const auto loaded = load_counters(dir.path(), after, at(5 * kSecond, 11s));
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->saved, 2u);
    EXPECT_EQ(loaded->restored, 1u);
    EXPECT_EQ(after.peek(33).time, 0);
    EXPECT_EQ(after.peek(11).current, 1u);
}

TEST_F(CounterFileTest, ASmallerMaxKeysKeepsTheKeysBusyLongest) {
    CounterSnapshot s;
    s.saved_steady = clock.now();
    s.saved_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(kWall.time_since_epoch()).count();
    // Keys 1..100 in one shard, busy until now + key seconds.
    for (std::uint64_t key = 1; key <= 100; ++key)
        s.entries.push_back({key, state(clock.now() + static_cast<Nanos>(key) * kSecond, 0, 1, 0, false)});
    dir.write("counters.bin", encode_counters(s));
    LocalStore after(10);
    const auto loaded = load_counters(dir.path(), after, at(clock.now(), 0s));
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->restored, 10u);
    EXPECT_EQ(after.tracked_keys(), 10u);
    for (std::uint64_t key = 1; key <= 100; ++key) EXPECT_EQ(after.peek(key).current, key > 90 ? 1u : 0u) << key;
}

TEST_F(CounterFileTest, NoFileIsNoSnapshot) {
    LocalStore store(10);
    EXPECT_FALSE(load_counters(dir.path(), store, at(clock.now(), 0s)));
    EXPECT_FALSE(load_counters(dir.path() / "missing", store, at(clock.now(), 0s)));
}

TEST_F(CounterFileTest, EachKindOfDamageIsNamedAndLeavesTheStoreEmpty) {
    const std::string good = encode_counters(sample());
    std::string bad_magic = good, bad_version = good, bad_entry_size = good, flipped = good;
    bad_magic[0] = 'X';
    bad_version[8] = 2;
    bad_entry_size[12] = 40;
    flipped[64 + 40] ^= 1;  // in the second entry
    const std::pair<std::string, std::string> cases[] = {
        {"", "truncated: 0 bytes, a snapshot has at least 64"},
        {good.substr(0, 40), "truncated: 40 bytes, a snapshot has at least 64"},
        {good.substr(0, good.size() - 10), "truncated: 3 entries, but 150 bytes"},
        {good + "xy", "trailing bytes: 3 entries, but 162 bytes"},
        {bad_magic, "not a counter snapshot (wrong magic)"},
        {"{\"blocks\": []}\n", "not a counter snapshot (wrong magic)"},
        {bad_version, "unsupported version 2 (this sluiced reads version 1)"},
        {bad_entry_size, "entry size 40, expected 32"},
        {flipped, "corrupt: checksum mismatch"},
    };
    for (const auto& [bytes, why] : cases) {
        EXPECT_EQ(reason(bytes), why);
        const std::filesystem::path file = dir.write("counters.bin", bytes);
        LocalStore store(100);
        try {
            load_counters(dir.path(), store, at(5'000 * kSecond, 0s));
            ADD_FAILURE() << "no error for: " << why;
        } catch (const std::runtime_error& e) {
            EXPECT_EQ(std::string(e.what()), file.string() + ": " + why);
        }
        EXPECT_EQ(store.tracked_keys(), 0u) << why;
    }
}

// Found by counter_snapshot_fuzz: a time no algorithm writes (here the
// highest Nanos) made the algorithms overflow once restored.
TEST_F(CounterFileTest, ATimeFurtherAheadThanSluicedWritesIsRefused) {
    CounterSnapshot s = sample();
    s.entries[1].state.hold_until = std::numeric_limits<Nanos>::max();
    LocalStore store(100);
    EXPECT_EQ(refusal(s, store), "corrupt: a counter's time lies more than 73000 days ahead");
    EXPECT_EQ(store.tracked_keys(), 0u);

    s.entries[1].state.hold_until = 5'000 * kSecond + 2 * kMaxSpan;  // the furthest a save can hold
    dir.write("counters.bin", encode_counters(s));
    EXPECT_TRUE(load_counters(dir.path(), store, at(5'000 * kSecond, 0s)));
}

// Found by counter_snapshot_fuzz: a count of 2^32 - 1 wrapped to 0 in the
// sliding window's "current + 1 <= limit" and its wait overflowed.
TEST_F(CounterFileTest, ACountBeyondAnyLimitIsRefused) {
    CounterSnapshot s = sample();
    s.entries[0].state.current = 0xffffffff;
    LocalStore store(100);
    EXPECT_EQ(refusal(s, store), "corrupt: a counter's count 4294967295 is beyond any limit");
    EXPECT_EQ(store.tracked_keys(), 0u);
}

TEST_F(CounterFileTest, SluicedIgnoresABadFileWithAFreshKeyAndSaysWhy) {
    const std::string bytes = encode_counters(sample());
    const std::filesystem::path file = dir.write("counters.bin", bytes.substr(0, bytes.size() - 1));
    LocalStore store(100);
    ::testing::internal::CaptureStderr();
    const KeyedHasher hasher = restore_counters(dir.path(), store, clock);
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(log, "sluiced: ignoring " + file.string() +
                       ": truncated: 3 entries, but 159 bytes; quota counters start fresh\n");
    EXPECT_NE(hasher.k0(), sample().k0);
    EXPECT_EQ(store.tracked_keys(), 0u);
}

TEST_F(CounterFileTest, SluicedSavesAndRestoresWithItsKeyAndLogsIt) {
    LocalStore before(100);
    CheckResult r;
    EXPECT_TRUE(hit(before, fixed, 11, clock.now(), r));
    ::testing::internal::CaptureStderr();
    save_counters_on_stop(dir.path(), KeyedHasher(5, 6), before, clock);
    LocalStore after(100);
    const KeyedHasher hasher = restore_counters(dir.path(), after, clock);
    const std::string log = ::testing::internal::GetCapturedStderr();
    const std::string file = counters_file(dir.path()).string();
    EXPECT_EQ(log, "sluiced: saved 1 quota counters to " + file + "\nsluiced: restored 1 quota counters from " + file +
                       " (saved 0 s ago)\n");
    EXPECT_EQ(hasher.k0(), 5u);
    EXPECT_EQ(hasher.k1(), 6u);
    EXPECT_EQ(after.peek(11).current, 1u);
}

TEST_F(CounterFileTest, WithoutStateDirNothingIsWrittenAndTheKeyIsRandom) {
    LocalStore store(100);
    CheckResult r;
    EXPECT_TRUE(hit(store, fixed, 11, clock.now(), r));
    save_counters_on_stop(std::nullopt, KeyedHasher(5, 6), store, clock);
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
    const KeyedHasher a = restore_counters(std::nullopt, store, clock),
                      b = restore_counters(std::nullopt, store, clock);
    EXPECT_NE(a.k0(), b.k0());
}

// A measurement, not a check: run with --gtest_also_run_disabled_tests
// --gtest_filter='*MillionKeys*' to see the save and load times at 1M keys.
TEST(CounterSnapshotBench, DISABLED_SaveAndLoadAMillionKeys) {
    constexpr std::size_t kKeys = 1'000'000;
    testing::FakeClock clock;
    testing::TempFolder dir;
    std::vector<LocalStore::Entry> entries(kKeys);
    std::mt19937_64 random(1);
    for (LocalStore::Entry& e : entries) e = {random() | 1, state(clock.now() + 3600 * kSecond, 0, 3, 0, false)};
    LocalStore before(kKeys);
    ASSERT_EQ(before.restore(entries, clock.now()), kKeys);

    using Steady = std::chrono::steady_clock;
    const auto ms = [](Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    const auto t0 = Steady::now();
    save_counters(dir.path(), KeyedHasher(1, 2), before, {clock.now(), std::chrono::system_clock::now()});
    const auto t1 = Steady::now();
    LocalStore after(kKeys);
    const auto loaded = load_counters(dir.path(), after, {clock.now(), std::chrono::system_clock::now()});
    const auto t2 = Steady::now();
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->restored, kKeys);
    std::printf("%zu keys, %ju bytes: save %.1f ms (with fsync), load %.1f ms\n", kKeys,
                static_cast<std::uintmax_t>(std::filesystem::file_size(counters_file(dir.path()))), ms(t1 - t0),
                ms(t2 - t1));
}

}  // namespace
}  // namespace sluice
