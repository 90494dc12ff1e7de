// The block list in state_dir, so that blocks outlive a restart of sluiced
// (and a reboot). The file, blocks.json:
//
//   {"blocks": [{"client": "203.0.113.7", "expires_unix_ns": 1795434005000000000, "origin": "api"}]}
//
// Expiries are wall-clock time as Unix nanoseconds (exact, and time-zone
// free): the limiter's steady clock starts anew with the machine, so an
// expiry on it means nothing after a reboot.
#pragma once

#include "limit/block_list.h"
#include "common/clock.h"

#include <chrono>
#include <filesystem>
#include <vector>

namespace sluice {

// Both clocks read at one moment: converts expiries between them.
struct ClockReading {
    Nanos steady = 0;  // the limiter's clock
    std::chrono::system_clock::time_point wall;

    static ClockReading now(const Clock& steady);
};

std::filesystem::path blocks_file(const std::filesystem::path& state_dir);

// Replaces blocks.json atomically with `entries`. Throws std::runtime_error
// ("cannot write <file>: <reason>").
void save_blocks(const std::filesystem::path& state_dir, const std::vector<BlockEntry>& entries,
                 const ClockReading& now);

// The unexpired blocks of blocks.json, their expiries on the limiter's clock;
// none when the file does not exist. Throws std::runtime_error
// ("<file>: <JSON path>: <reason>") when it cannot be read or is not valid.
std::vector<BlockEntry> load_blocks(const std::filesystem::path& state_dir, const ClockReading& now);

}  // namespace sluice
