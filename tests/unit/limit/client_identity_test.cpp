#include "limit/client_identity.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

IpAddress ip(std::string_view text) { return *parse_ip(text); }

class ClientIdentity : public ::testing::Test {
protected:
    std::vector<Cidr> trusted = {*parse_cidr("10.0.0.0/8"), *parse_cidr("2001:db8::/32")};
};

TEST_F(ClientIdentity, UntrustedPeerIsTheClientWhateverItForwards) {
    EXPECT_EQ(resolve_client_ip(ip("203.0.113.7"), "1.2.3.4", trusted), "203.0.113.7");
}

TEST_F(ClientIdentity, TrustedPeerYieldsRightMostUntrustedAddress) {
    EXPECT_EQ(resolve_client_ip(ip("10.0.0.1"), "1.1.1.1, 198.51.100.9, 10.0.0.5", trusted), "198.51.100.9");
}

TEST_F(ClientIdentity, SpoofedLeftEntriesAreIgnored) {
    // The client wrote "6.6.6.6" itself; our proxy appended the real address.
    EXPECT_EQ(resolve_client_ip(ip("10.0.0.1"), "6.6.6.6,198.51.100.9", trusted), "198.51.100.9");
}

TEST_F(ClientIdentity, AllTrustedMeansTheLeftMostHop) {
    EXPECT_EQ(resolve_client_ip(ip("10.0.0.1"), "10.1.1.1, 10.2.2.2", trusted), "10.1.1.1");
}

TEST_F(ClientIdentity, TrustedPeerWithoutHeaderIsItself) {
    EXPECT_EQ(resolve_client_ip(ip("10.0.0.1"), "", trusted), "10.0.0.1");
}

TEST_F(ClientIdentity, PortsBracketsAndIpv6AreUnderstood) {
    EXPECT_EQ(resolve_client_ip(ip("10.0.0.1"), "198.51.100.9:4711", trusted), "198.51.100.9");
    EXPECT_EQ(resolve_client_ip(ip("10.0.0.1"), "[2a00:1450::1]:443", trusted), "2a00:1450::1");
    EXPECT_EQ(resolve_client_ip(ip("2001:db8::1"), "2A00:1450:0:0::1", trusted), "2a00:1450::1");
}

TEST_F(ClientIdentity, GarbageEntryIsTheUntrustedClientsClaim) {
    EXPECT_EQ(resolve_client_ip(ip("10.0.0.1"), "1.1.1.1, unknown", trusted), "unknown");
}

TEST(BearerToken, ExtractsTheTokenCaseInsensitively) {
    EXPECT_EQ(bearer_token("Bearer abc.def"), "abc.def");
    EXPECT_EQ(bearer_token("bearer   tok  "), "tok");
    EXPECT_EQ(bearer_token("Basic dXNlcjpwdw=="), "");
    EXPECT_EQ(bearer_token("Bearer "), "");
    EXPECT_EQ(bearer_token(""), "");
}

}  // namespace
}  // namespace sluice
