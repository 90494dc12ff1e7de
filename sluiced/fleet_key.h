// The fleet key: the secret that hashes tokens and API keys (KeyedHasher),
// the same on every host of a fleet that shares one Redis, so that they count
// a client under the same key there. The operator copies the file to each
// host; it never goes to Redis, only its fingerprint does.
//
// In sluiced/, the composition root, because only the start needs the file:
// what sits below takes what comes out of it (the Limiter and the counter
// snapshot a KeyedHasher, a store the fingerprint) and need not know where
// it came from.
#pragma once

#include "limit/keyed_hash.h"

#include <filesystem>
#include <string>
#include <vector>

namespace sluice {

struct FleetKey {
    KeyedHasher hasher;
    // 16 hex digits, from the key by a one-way function: safe to log and to
    // store in Redis, so hosts can tell whether they hold the same key.
    std::string fingerprint;
    // For the log: that the file was created, and what to do with it.
    std::vector<std::string> notes;
};

// Reads `file`: 64 hex digits (32 random bytes), whitespace around them
// allowed. When it does not exist, creates it first (mode 0600, 32 bytes
// from getrandom, written whole under a temporary name and linked into
// place, so two sluiced starting at once agree on one key). Throws
// std::runtime_error "fleet key file <file>: <reason>" when it is not a
// regular file, group or others may read, write or run it ("is readable by
// others (mode 0644); chmod 600 it"), it is not 64 hex digits, or it cannot
// be read or created.
//
// The 32 bytes b0..b31 give the SipHash key (k0, k1) and the fingerprint
// through SipHash-2-4 keyed with b0..b15 (as two little-endian words), over
// a label, a zero byte and b16..b31: labels "sluice fleet key k0", "... k1"
// and "... fingerprint". Every byte of the file counts, and the fingerprint
// reveals neither the file nor (k0, k1). Fixed for good: hosts of one fleet
// may run different versions.
FleetKey load_fleet_key(const std::filesystem::path& file);

}  // namespace sluice
