#include "limit/keyed_hash.h"

#include <cstring>
#include <random>

namespace sluice {
namespace {

constexpr std::uint64_t rotl(std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct SipState {
    std::uint64_t v0, v1, v2, v3;

    void round() {
        v0 += v1;
        v1 = rotl(v1, 13);
        v1 ^= v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl(v1, 17);
        v1 ^= v2;
        v2 = rotl(v2, 32);
    }
    void absorb(std::uint64_t m) {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

}  // namespace

KeyedHasher KeyedHasher::random() {
    std::random_device device;  // getrandom(2) on Linux
    auto word = [&] { return (std::uint64_t{device()} << 32) | device(); };
    const std::uint64_t k0 = word();
    return KeyedHasher(k0, word());
}

std::uint64_t KeyedHasher::operator()(std::string_view data, std::uint64_t seed) const {
    const std::uint64_t k0 = k0_ ^ seed;
    SipState s{k0 ^ 0x736f6d6570736575ULL, k1_ ^ 0x646f72616e646f6dULL, k0 ^ 0x6c7967656e657261ULL,
               k1_ ^ 0x7465646279746573ULL};
    const std::size_t whole = data.size() & ~std::size_t{7};
    for (std::size_t i = 0; i < whole; i += 8) {
        std::uint64_t m;
        std::memcpy(&m, data.data() + i, 8);
        s.absorb(m);
    }
    std::uint64_t last = std::uint64_t{data.size() & 0xff} << 56;
    for (std::size_t i = whole; i < data.size(); ++i)
        last |= std::uint64_t{static_cast<unsigned char>(data[i])} << (8 * (i - whole));
    s.absorb(last);
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace sluice
