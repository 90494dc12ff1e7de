#include "limit/keyed_hash.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

// The reference vectors of the SipHash paper: key 00..0f, message 00..(n-1).
TEST(KeyedHasher, MatchesSipHash24ReferenceVectors) {
    const KeyedHasher h(0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull);
    std::string message;
    EXPECT_EQ(h(message), 0x726fdb47dd0e0e31ull);
    for (char c = 0; c < 15; ++c) message += c;
    EXPECT_EQ(h(message), 0xa129ca6149be45e5ull);
    message += '\x0f';
    EXPECT_EQ(h(message.substr(0, 8)), 0x93f5f5799a932462ull);
}

TEST(KeyedHasher, SeedAndKeySeparateOutputs) {
    const KeyedHasher a(1, 2), b(1, 3);
    EXPECT_NE(a("token"), b("token"));
    EXPECT_NE(a("token", 1), a("token", 2));
    EXPECT_EQ(a("token", 7), a("token", 7));
}

}  // namespace
}  // namespace sluice
