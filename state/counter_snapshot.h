// Quota counters across a restart. Keys in the local store are SipHashes
// under a per-process key, so counters mean something only with that key:
// on a clean stop sluiced writes the key and every tracked key's state to
// <state_dir>/counters.bin, and the next start counts on from them instead of
// giving every client a fresh budget.
//
// The file, little-endian, mode 0600 (the hasher key is a secret):
//
//   "SLUICEQC"  u32 version (1)  u32 entry size (32)
//   u64 k0  u64 k1                         the KeyedHasher key
//   i64 steady_ns  i64 unix_ns             both clocks at the save
//   u64 count, then count entries:
//     u64 key  i64 time  i64 hold_until  u32 current  u32 previous | blocked << 31
//   u64 SipHash of all the bytes before it  (catches a damaged file)
//
// Entry times are on the saving process's steady clock; a load moves them to
// its own by the wall-clock time since the save, so they hold after a reboot.
#pragma once

#include "state/block_state.h"
#include "common/clock.h"
#include "limit/keyed_hash.h"
#include "store/kept_counters.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

struct CounterSnapshot {
    std::uint64_t k0 = 0, k1 = 0;
    Nanos saved_steady = 0;
    Nanos saved_unix_ns = 0;
    std::vector<KeptCounters::Entry> entries;
};

std::filesystem::path counters_file(const std::filesystem::path& state_dir);

std::string encode_counters(const CounterSnapshot&);
// Throws std::runtime_error with the reason, e.g. "unsupported version 2
// (this sluiced reads version 1)".
CounterSnapshot decode_counters(std::string_view bytes);

// Moves the entries' times to `now`'s steady clock: they advance by the wall
// time since the save (none if the wall clock went back). A zero time ("never")
// stays zero.
void move_to_clock(CounterSnapshot&, const ClockReading& now);

// Replaces counters.bin atomically with the store's keys and the hasher's key;
// returns how many keys. Throws std::runtime_error ("cannot write <file>: <reason>").
std::size_t save_counters(const std::filesystem::path& state_dir, const KeyedHasher&, const KeptCounters&,
                          const ClockReading& now);

struct RestoredCounters {
    KeyedHasher hasher{0, 0};  // the key the counters were made with
    std::size_t saved = 0;     // keys in the file
    std::size_t restored = 0;  // of those, now in the store (the others were idle or beyond max_keys)
    Nanos age = 0;             // wall time since the save
};

// Fills `store` from counters.bin; nullopt when there is none. Throws
// std::runtime_error ("<file>: <reason>") when the file cannot be used; the
// store is then untouched.
std::optional<RestoredCounters> load_counters(const std::filesystem::path& state_dir, KeptCounters& store,
                                              const ClockReading& now);

// What sluiced does before it serves: the hasher to count with, the saved
// one when counters were restored, a random one otherwise. Logs the outcome;
// a bad file is reported and ignored, never stops the start.
KeyedHasher restore_counters(const std::optional<std::filesystem::path>& state_dir, KeptCounters& store,
                             const Clock& clock);

// What sluiced does on a clean stop, once the proxy is stopped. Logs the
// outcome; never throws.
void save_counters_on_stop(const std::optional<std::filesystem::path>& state_dir, const KeyedHasher& hasher,
                           const KeptCounters& store, const Clock& clock);

}  // namespace sluice
