#include "common/cidr.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

IpAddress ip(std::string_view text) {
    const std::optional<IpAddress> parsed = parse_ip(text);
    EXPECT_TRUE(parsed) << text;
    return parsed.value_or(IpAddress{});
}

Cidr cidr(std::string_view text) {
    const std::optional<Cidr> parsed = parse_cidr(text);
    EXPECT_TRUE(parsed) << text;
    return parsed.value_or(Cidr{});
}

TEST(Ip, ParsesV4AsMapped) {
    const IpAddress a = ip("192.0.2.1");
    const IpAddress expected{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1}};
    EXPECT_EQ(a, expected);
    EXPECT_TRUE(a.is_v4());
    EXPECT_EQ(a.to_string(), "192.0.2.1");
    EXPECT_EQ(ip("::ffff:192.0.2.1"), a);
}

TEST(Ip, ParsesV6Canonically) {
    const IpAddress a = ip("2001:DB8:0:0:0:0:0:1");
    EXPECT_FALSE(a.is_v4());
    EXPECT_EQ(a.bytes[0], 0x20);
    EXPECT_EQ(a.bytes[1], 0x01);
    EXPECT_EQ(a.bytes[15], 0x01);
    EXPECT_EQ(a.to_string(), "2001:db8::1");
    EXPECT_EQ(ip("::1").to_string(), "::1");
    EXPECT_EQ(ip("::").to_string(), "::");
    EXPECT_EQ(ip("2001:db8:0:1:1:1:1:1").to_string(), "2001:db8:0:1:1:1:1:1");  // one zero group stays
    EXPECT_EQ(ip("2001:0:0:1:0:0:0:1").to_string(), "2001:0:0:1::1");           // the longest run goes
}

TEST(Ip, RejectsNonAddresses) {
    for (std::string_view text : {"", "1.2.3", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4/32", "[::1]",
                                  "fe80::1%eth0", "localhost", "1:2:3:4:5:6:7:8:9", "::g"})
        EXPECT_FALSE(parse_ip(text)) << text;
    EXPECT_FALSE(parse_ip(std::string_view("1.2.3.4\0", 8)));
}

TEST(Cidr, V4BlockIsStoredIn128BitForm) {
    const Cidr block = cidr("10.0.0.0/8");
    EXPECT_EQ(block.prefix, 104u);
    EXPECT_EQ(block.network, ip("10.0.0.0"));
    EXPECT_EQ(block.to_string(), "10.0.0.0/8");
    EXPECT_TRUE(block.contains(ip("10.0.0.0")));
    EXPECT_TRUE(block.contains(ip("10.255.255.255")));
    EXPECT_FALSE(block.contains(ip("11.0.0.0")));
    EXPECT_FALSE(block.contains(ip("9.255.255.255")));
    EXPECT_FALSE(block.contains(ip("::a00:1")));  // same low bytes, not IPv4-mapped
}

TEST(Cidr, PrefixNotOnAByteBoundary) {
    const Cidr block = cidr("192.168.1.128/25");
    EXPECT_EQ(block.prefix, 121u);
    EXPECT_TRUE(block.contains(ip("192.168.1.128")));
    EXPECT_TRUE(block.contains(ip("192.168.1.255")));
    EXPECT_FALSE(block.contains(ip("192.168.1.127")));
    EXPECT_EQ(cidr("10.0.0.0/7").to_string(), "10.0.0.0/7");
}

TEST(Cidr, V6Block) {
    const Cidr block = cidr("2001:DB8::/32");
    EXPECT_EQ(block.prefix, 32u);
    EXPECT_EQ(block.to_string(), "2001:db8::/32");
    EXPECT_TRUE(block.contains(ip("2001:db8:ffff::1")));
    EXPECT_FALSE(block.contains(ip("2001:db9::")));
    EXPECT_FALSE(block.contains(ip("10.0.0.1")));
}

TEST(Cidr, BareAddressIsAHost) {
    EXPECT_EQ(cidr("192.0.2.7").prefix, 128u);
    EXPECT_EQ(cidr("192.0.2.7").to_string(), "192.0.2.7/32");
    EXPECT_EQ(cidr("::1").to_string(), "::1/128");
    EXPECT_TRUE(cidr("192.0.2.7").contains(ip("192.0.2.7")));
    EXPECT_FALSE(cidr("192.0.2.7").contains(ip("192.0.2.8")));
}

TEST(Cidr, WholeSpaces) {
    const Cidr all_v4 = cidr("0.0.0.0/0");
    EXPECT_EQ(all_v4.prefix, 96u);
    EXPECT_EQ(all_v4.to_string(), "0.0.0.0/0");
    EXPECT_TRUE(all_v4.contains(ip("255.255.255.255")));
    EXPECT_FALSE(all_v4.contains(ip("2001:db8::1")));
    const Cidr all = cidr("::/0");
    EXPECT_EQ(all.to_string(), "::/0");
    EXPECT_TRUE(all.contains(ip("2001:db8::1")));
    EXPECT_TRUE(all.contains(ip("1.2.3.4")));
}

TEST(Cidr, RejectsHostBitsBeyondThePrefix) {
    for (std::string_view text : {"10.0.0.1/8", "10.1.0.0/8", "192.168.1.129/25", "2001:db8::1/32", "::1/127"})
        EXPECT_FALSE(parse_cidr(text)) << text;
}

TEST(Cidr, RejectsBadPrefixes) {
    for (std::string_view text : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x",
                                  "10.0.0.0/a", "10.0.0.0/ 8", "/8", "10.0.0.0/8/8", "nope/8"})
        EXPECT_FALSE(parse_cidr(text)) << text;
    EXPECT_EQ(cidr("10.0.0.0/32").prefix, 128u);
    EXPECT_EQ(cidr("::/128").prefix, 128u);
}

}  // namespace
}  // namespace sluice
