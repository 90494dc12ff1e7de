// counters.bin (state/counter_snapshot.h), what sluiced reads at start
// to count on after a restart. Properties:
// - the input as a file: decode_counters refuses it with a std::runtime_error
//   that says why, or it was a whole snapshot (encoded again, the same bytes);
// - a snapshot made from the input's bytes and written by the real writer
//   reads back equal; any one byte of it changed is refused (the checksum);
// - load_counters on that file (damaged or not) with any clock reading
//   throws "<file>: <reason>" or restores at most what was saved and what
//   the store holds, and the restored states can be evaluated by every
//   algorithm at any time (UBSan watches the arithmetic).
#include "state/counter_snapshot.h"
#include "store/local_store.h"
#include "limit/algorithms.h"

#include "support/fuzz_check.h"
#include "support/input_split.h"
#include "support/temp_dir.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using sluice::fuzz::check;

constexpr std::size_t kMaxKeys = 64;

bool same(const sluice::CounterSnapshot& a, const sluice::CounterSnapshot& b) {
    if (a.k0 != b.k0 || a.k1 != b.k1 || a.saved_steady != b.saved_steady || a.saved_unix_ns != b.saved_unix_ns ||
        a.entries.size() != b.entries.size())
        return false;
    for (std::size_t i = 0; i < a.entries.size(); ++i) {
        const sluice::LimitState& x = a.entries[i].state;
        const sluice::LimitState& y = b.entries[i].state;
        if (a.entries[i].key != b.entries[i].key || x.time != y.time || x.hold_until != y.hold_until ||
            x.current != y.current || x.previous != y.previous || x.blocked != y.blocked)
            return false;
    }
    return true;
}

// A steady clock reading as the algorithms expect one (limit_algorithms.h):
// positive, and less than 2^61 ns (73 years) since boot.
sluice::Nanos steady_reading(std::uint64_t bits) {
    return static_cast<sluice::Nanos>(bits % (std::uint64_t{1} << 61)) + 1;
}

sluice::CounterSnapshot snapshot_from(sluice::fuzz::InputReader& reader) {
    sluice::CounterSnapshot s;
    s.k0 = reader.u64();
    s.k1 = reader.u64();
    s.saved_steady = static_cast<sluice::Nanos>(reader.u64());
    s.saved_unix_ns = static_cast<sluice::Nanos>(reader.u64());
    const std::size_t count = reader.byte() % 8;
    for (std::size_t i = 0; i < count; ++i) {
        sluice::LocalStore::Entry e;
        e.key = reader.u64();
        e.state.time = static_cast<sluice::Nanos>(reader.u64());
        e.state.hold_until = static_cast<sluice::Nanos>(reader.u64());
        e.state.current = static_cast<std::uint32_t>(reader.u64());
        const auto packed = static_cast<std::uint32_t>(reader.u64());
        e.state.previous = packed & 0x7fffffff;
        e.state.blocked = packed >> 31;
        s.entries.push_back(e);
    }
    return s;
}

sluice::LimitParams params(sluice::Algorithm algorithm, double rate, std::chrono::nanoseconds interval,
                           std::chrono::nanoseconds block) {
    sluice::Quota q;
    q.algorithm = algorithm;
    q.rate = rate;
    q.interval = interval;
    q.block_interval = block;
    return sluice::LimitParams::from(q);
}

void check_decoded_file(std::string_view bytes) {
    try {
        const sluice::CounterSnapshot snapshot = sluice::decode_counters(bytes);
        check(sluice::encode_counters(snapshot) == bytes, "a snapshot read is not the bytes it was read from");
    } catch (const std::runtime_error& e) {
        check(std::string_view(e.what()).size() > 0, "a refusal without a reason");
    }
}

void check_load(const std::string& bytes, const sluice::ClockReading& now, std::size_t saved) {
    const sluice::testing::TempFolder& dir = sluice::fuzz::scratch_dir();
    dir.clear();
    dir.write(sluice::counters_file(dir.path()).filename(), bytes);
    sluice::LocalStore store(kMaxKeys);
    std::optional<sluice::RestoredCounters> restored;
    try {
        restored = sluice::load_counters(dir.path(), store, now);
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        check(what.starts_with(sluice::counters_file(dir.path()).string() + ": ") &&
                  what.size() > sluice::counters_file(dir.path()).string().size() + 2,
              "a refusal that does not name the file and the reason", what);
        return;
    }
    check(restored.has_value(), "an existing file read as no file");
    check(restored->saved == saved, "a load saw another number of keys than were saved");
    check(restored->restored <= restored->saved && store.tracked_keys() == restored->restored &&
              store.tracked_keys() <= kMaxKeys,
          "restored more keys than saved or than the store holds");

    using namespace std::chrono_literals;
    const sluice::LimitParams all[] = {
        params(sluice::Algorithm::token_bucket, 10, 1s, 0s),
        params(sluice::Algorithm::fixed_window, 5, 1min, 30s),
        params(sluice::Algorithm::sliding_window, 100, 1h, 24h * 36500),
    };
    for (const sluice::LocalStore::Entry& entry : store.entries()) {
        for (const sluice::LimitParams& p : all) {
            for (const sluice::Nanos t : {now.steady, entry.state.time, entry.state.hold_until}) {
                if (t != steady_reading(static_cast<std::uint64_t>(t) - 1)) continue;  // not a reading
                (void)sluice::evaluate(p, entry.state, t);
                (void)sluice::usage(p, entry.state, t);
                (void)sluice::refused_state(p, entry.state, t);
            }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_decoded_file(input);

    sluice::fuzz::InputReader reader(input);
    const std::uint8_t mode = reader.byte();
    sluice::ClockReading now;
    now.steady = steady_reading(reader.u64());
    now.wall = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::nanoseconds(static_cast<std::int64_t>(reader.u64()))));
    const std::uint64_t damage_at = reader.u64();
    const sluice::CounterSnapshot made = snapshot_from(reader);

    std::string bytes = sluice::encode_counters(made);
    check(same(sluice::decode_counters(bytes), made), "a written snapshot reads back different");
    if (mode & 1) {
        const std::size_t at = damage_at % bytes.size();
        bytes[at] = static_cast<char>(bytes[at] ^ (1 + (mode >> 1)));
        bool refused = false;
        try {
            sluice::decode_counters(bytes);
        } catch (const std::runtime_error&) {
            refused = true;
        }
        check(refused, "a snapshot with a changed byte was accepted", "byte " + std::to_string(at));
    }
    check_load(bytes, now, made.entries.size());
    return 0;
}
