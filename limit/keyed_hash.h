// SipHash-2-4 with a secret key: tokens and API keys are only ever held as
// these hashes, and an attacker who cannot see the key cannot aim keys at one
// shard or slot of the key table.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice {

class KeyedHasher {
public:
    KeyedHasher(std::uint64_t k0, std::uint64_t k1) : k0_(k0), k1_(k1) {}
    static KeyedHasher random();  // key from the OS's random source

    std::uint64_t operator()(std::string_view data, std::uint64_t seed = 0) const;

    // The key, so that a restart can hash as before (counter snapshots).
    std::uint64_t k0() const { return k0_; }
    std::uint64_t k1() const { return k1_; }

private:
    std::uint64_t k0_, k1_;
};

}  // namespace sluice
