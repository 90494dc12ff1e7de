#include "state/counter_snapshot.h"

#include "state/state_file.h"
#include "limit/algorithms.h"
#include "common/log.h"

#include <bit>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'Q', 'C'};
constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kEntrySize = 32;
constexpr std::size_t kHeaderSize = 8 + 4 + 4 + 16 + 16 + 8;
constexpr std::size_t kChecksumSize = 8;
constexpr std::uint32_t kBlockedBit = 1u << 31;
constexpr std::uint32_t kMaxCount = 1u << 31;  // LimitParams::limit stays below

__extension__ using Wide = unsigned __int128;

// A fixed key: the checksum finds damage, it is no secret.
const KeyedHasher kChecksum(0x736c756963652d63, 0x6f756e7465727331);

template <class T>
T little(T v) {
    if constexpr (std::endian::native == std::endian::big) {
        if constexpr (sizeof(T) == 8) return static_cast<T>(__builtin_bswap64(static_cast<std::uint64_t>(v)));
        if constexpr (sizeof(T) == 4) return static_cast<T>(__builtin_bswap32(static_cast<std::uint32_t>(v)));
    }
    return v;
}

class Writer {
public:
    explicit Writer(std::size_t size) { bytes_.resize(size); }
    template <class T>
    void put(T v) {
        v = little(v);
        std::memcpy(bytes_.data() + at_, &v, sizeof v);
        at_ += sizeof v;
    }
    void put_bytes(const char* data, std::size_t n) {
        std::memcpy(bytes_.data() + at_, data, n);
        at_ += n;
    }
    std::string_view written() const { return {bytes_.data(), at_}; }
    std::string take() { return std::move(bytes_); }

private:
    std::string bytes_;
    std::size_t at_ = 0;
};

// Reads what decode_counters has checked is there.
class Reader {
public:
    explicit Reader(std::string_view bytes) : bytes_(bytes) {}
    template <class T>
    T get() {
        T v;
        std::memcpy(&v, bytes_.data() + at_, sizeof v);
        at_ += sizeof v;
        return little(v);
    }

private:
    std::string_view bytes_;
    std::size_t at_ = 0;
};

Nanos unix_ns(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// a + b, held at the ends of Nanos.
Nanos shifted(Nanos a, Nanos b) {
    Nanos sum = 0;
    if (!__builtin_add_overflow(a, b, &sum)) return sum;
    return b > 0 ? std::numeric_limits<Nanos>::max() : std::numeric_limits<Nanos>::min();
}

// a - b, held at the ends of Nanos. Not shifted(a, -b): the file's times
// may be the lowest Nanos, whose negation overflows (found by
// counter_snapshot_fuzz).
Nanos minus(Nanos a, Nanos b) {
    Nanos difference = 0;
    if (!__builtin_sub_overflow(a, b, &difference)) return difference;
    return b < 0 ? std::numeric_limits<Nanos>::max() : std::numeric_limits<Nanos>::min();
}

[[noreturn]] void invalid(const std::string& reason) { throw std::runtime_error(reason); }

std::string seconds_text(Nanos ns) { return std::to_string((ns + 500'000'000) / 1'000'000'000) + " s"; }

}  // namespace

fs::path counters_file(const fs::path& state_dir) { return state_dir / "counters.bin"; }

std::string encode_counters(const CounterSnapshot& snapshot) {
    Writer out(kHeaderSize + snapshot.entries.size() * kEntrySize + kChecksumSize);
    out.put_bytes(kMagic, sizeof kMagic);
    out.put(kVersion);
    out.put(kEntrySize);
    out.put(snapshot.k0);
    out.put(snapshot.k1);
    out.put(snapshot.saved_steady);
    out.put(snapshot.saved_unix_ns);
    out.put(std::uint64_t{snapshot.entries.size()});
    for (const KeptCounters::Entry& e : snapshot.entries) {
        out.put(e.key);
        out.put(e.state.time);
        out.put(e.state.hold_until);
        out.put(std::uint32_t{e.state.current});
        out.put(std::uint32_t{e.state.previous} | (e.state.blocked ? kBlockedBit : 0));
    }
    out.put(kChecksum(out.written()));
    return out.take();
}

CounterSnapshot decode_counters(std::string_view bytes) {
    const auto too_short = [&](std::size_t need) {
        return "truncated: " + std::to_string(bytes.size()) + " bytes, a snapshot has at least " + std::to_string(need);
    };
    if (bytes.size() < sizeof kMagic + 4) invalid(too_short(kHeaderSize + kChecksumSize));
    if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) invalid("not a counter snapshot (wrong magic)");
    Reader in(bytes.substr(sizeof kMagic));
    if (const auto version = in.get<std::uint32_t>(); version != kVersion)
        invalid("unsupported version " + std::to_string(version) + " (this sluiced reads version " +
                std::to_string(kVersion) + ")");
    if (bytes.size() < kHeaderSize + kChecksumSize) invalid(too_short(kHeaderSize + kChecksumSize));
    if (const auto entry_size = in.get<std::uint32_t>(); entry_size != kEntrySize)
        invalid("entry size " + std::to_string(entry_size) + ", expected " + std::to_string(kEntrySize));
    CounterSnapshot snapshot;
    snapshot.k0 = in.get<std::uint64_t>();
    snapshot.k1 = in.get<std::uint64_t>();
    snapshot.saved_steady = in.get<Nanos>();
    snapshot.saved_unix_ns = in.get<Nanos>();
    const auto count = in.get<std::uint64_t>();
    const Wide need = kHeaderSize + Wide{count} * kEntrySize + kChecksumSize;  // a wild count must not wrap
    if (need != bytes.size()) {
        invalid(std::string(need > bytes.size() ? "truncated" : "trailing bytes") + ": " + std::to_string(count) +
                " entries, but " + std::to_string(bytes.size()) + " bytes");
    }
    Reader sum(bytes.substr(bytes.size() - kChecksumSize));
    if (sum.get<std::uint64_t>() != kChecksum(bytes.substr(0, bytes.size() - kChecksumSize)))
        invalid("corrupt: checksum mismatch");

    snapshot.entries.resize(count);
    for (KeptCounters::Entry& e : snapshot.entries) {
        e.key = in.get<std::uint64_t>();
        e.state.time = in.get<Nanos>();
        e.state.hold_until = in.get<Nanos>();
        e.state.current = in.get<std::uint32_t>();
        const auto packed = in.get<std::uint32_t>();
        e.state.previous = packed & ~kBlockedBit;
        e.state.blocked = (packed & kBlockedBit) != 0;
    }
    return snapshot;
}

void move_to_clock(CounterSnapshot& snapshot, const ClockReading& now) {
    const Nanos elapsed = std::max<Nanos>(0, minus(unix_ns(now.wall), snapshot.saved_unix_ns));
    // Where the save's steady instant lies on our steady clock.
    const Nanos saved_here = minus(now.steady, elapsed);
    const Nanos delta = minus(saved_here, snapshot.saved_steady);
    auto move = [&](Nanos t) { return t == 0 ? 0 : shifted(t, delta); };
    for (KeptCounters::Entry& e : snapshot.entries) {
        e.state.time = move(e.state.time);
        e.state.hold_until = move(e.state.hold_until);
    }
    snapshot.saved_steady = saved_here;
}

std::size_t save_counters(const fs::path& state_dir, const KeyedHasher& hasher, const KeptCounters& store,
                          const ClockReading& now) {
    CounterSnapshot snapshot{hasher.k0(), hasher.k1(), now.steady, unix_ns(now.wall), store.entries()};
    // write_file_atomically creates the file with mode 0600.
    write_file_atomically(counters_file(state_dir), encode_counters(snapshot));
    return snapshot.entries.size();
}

std::optional<RestoredCounters> load_counters(const fs::path& state_dir, KeptCounters& store, const ClockReading& now) {
    const fs::path file = counters_file(state_dir);
    // No size limit: the file grows with limits.max_keys, which has none.
    const std::optional<std::string> bytes = read_state_file(file, std::numeric_limits<std::size_t>::max());
    if (!bytes) return std::nullopt;
    CounterSnapshot snapshot;
    try {
        snapshot = decode_counters(*bytes);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(file.string() + ": " + e.what());
    }
    move_to_clock(snapshot, now);
    // What no algorithm writes, the algorithms' arithmetic does not expect
    // (found by counter_snapshot_fuzz): such a file was not written by
    // sluiced. No time lies more than 2 * kMaxSpan past the writer's now,
    // which lies before ours, and no count reaches 2^31 (limits stay below).
    const Nanos latest = shifted(now.steady, 2 * kMaxSpan);
    for (const KeptCounters::Entry& e : snapshot.entries) {
        if (e.state.time > latest || e.state.hold_until > latest)
            throw std::runtime_error(file.string() + ": corrupt: a counter's time lies more than " +
                                     std::to_string(2 * kMaxSpan / 1'000'000'000 / 86'400) + " days ahead");
        if (e.state.current >= kMaxCount)
            throw std::runtime_error(file.string() + ": corrupt: a counter's count " + std::to_string(e.state.current) +
                                     " is beyond any limit");
    }
    RestoredCounters restored;
    restored.hasher = KeyedHasher(snapshot.k0, snapshot.k1);
    restored.saved = snapshot.entries.size();
    restored.restored = store.restore(snapshot.entries, now.steady);
    restored.age = minus(now.steady, snapshot.saved_steady);
    return restored;
}

KeyedHasher restore_counters(const std::optional<fs::path>& state_dir, KeptCounters& store, const Clock& clock) {
    if (!state_dir) return KeyedHasher::random();
    try {
        const std::optional<RestoredCounters> loaded = load_counters(*state_dir, store, ClockReading::now(clock));
        if (!loaded) return KeyedHasher::random();
        const std::size_t dropped = loaded->saved - loaded->restored;
        log(LogLevel::info, "restored %zu quota counters from %s (saved %s ago%s)", loaded->restored,
            counters_file(*state_dir).c_str(), seconds_text(loaded->age).c_str(),
            dropped ? ("; " + std::to_string(dropped) + " idle by now or beyond limits.max_keys").c_str() : "");
        return loaded->hasher;
    } catch (const std::exception& e) {
        log(LogLevel::warning, "ignoring %s; quota counters start fresh", e.what());
        return KeyedHasher::random();
    }
}

void save_counters_on_stop(const std::optional<fs::path>& state_dir, const KeyedHasher& hasher,
                           const KeptCounters& store, const Clock& clock) {
    if (!state_dir) return;
    try {
        const std::size_t saved = save_counters(*state_dir, hasher, store, ClockReading::now(clock));
        log(LogLevel::info, "saved %zu quota counters to %s", saved, counters_file(*state_dir).c_str());
    } catch (const std::exception& e) {
        log(LogLevel::error, "quota counters not saved: %s", e.what());
    }
}

}  // namespace sluice
