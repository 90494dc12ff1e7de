#include "xdp/abi.h"
#include "xdp/report.h"

#include <gtest/gtest.h>

#include <cstring>

namespace sluice {
namespace {

const std::array<std::uint32_t, SLUICE_MAX_INTERFACES> kOneInterface{7};

bool port_bit(const sluice_xdp_config& c, unsigned port) { return (c.port_bits[port / 64] >> (port % 64)) & 1; }

TEST(XdpAbi, ConfigRecordFromSettings) {
    XdpSettings s;
    s.rate_pps = 20000;
    s.burst = 40000;
    s.block_on_exceed = 10'000'000'000;
    s.new_sources_per_cpu = 20000;
    s.ports = {80, 443, 65535};
    s.allow = {*parse_cidr("127.0.0.0/8")};
    s.deny = {*parse_cidr("10.0.0.0/8"), *parse_cidr("::/0")};
    const sluice_xdp_config c = make_xdp_config(s, kOneInterface);
    EXPECT_EQ(c.emission_ns, 50'000u);        // 1e9 / 20000
    EXPECT_EQ(c.burst_ns, 40000u * 50'000u);  // 40000 packets ahead
    EXPECT_EQ(c.block_ns, 10'000'000'000u);
    EXPECT_EQ(c.insert_interval_ns, 50'000u);
    EXPECT_EQ(c.insert_burst_ns, 2000u * 50'000u);  // a tenth of a second of inserts
    EXPECT_EQ(c.ifindex[0], 7u);
    EXPECT_EQ(c.ifindex[1], 0u);
    EXPECT_EQ(c.allow_entries, 1u);
    EXPECT_EQ(c.deny_entries, 2u);
    EXPECT_EQ(c.port_filter, 1u);
    EXPECT_TRUE(port_bit(c, 80) && port_bit(c, 443) && port_bit(c, 65535));
    EXPECT_FALSE(port_bit(c, 81) || port_bit(c, 0) || port_bit(c, 8080));
}

TEST(XdpAbi, BurstDefaultsToRateAndNoPortsMeansAll) {
    XdpSettings s;
    s.rate_pps = 3;  // 333333333.3 ns rounds to the nearest
    const sluice_xdp_config c = make_xdp_config(s, kOneInterface);
    EXPECT_EQ(c.emission_ns, 333'333'333u);
    EXPECT_EQ(c.burst_ns, 999'999'999u);
    EXPECT_EQ(c.port_filter, 0u);
    EXPECT_EQ(c.block_ns, 0u);
}

TEST(XdpAbi, Ipv6MaskKeepsThePrefix) {
    XdpSettings s;
    s.rate_pps = 1;
    s.ipv6_prefix = 64;
    sluice_xdp_config c = make_xdp_config(s, kOneInterface);
    const unsigned char mask64[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    EXPECT_EQ(std::memcmp(c.ipv6_mask, mask64, 16), 0);
    s.ipv6_prefix = 60;
    c = make_xdp_config(s, kOneInterface);
    const unsigned char mask60[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0};
    EXPECT_EQ(std::memcmp(c.ipv6_mask, mask60, 16), 0);
}

TEST(XdpAbi, SourceKeys) {
    const sluice_source_key v4 = source_key(*parse_ip("192.0.2.9"), 64);
    EXPECT_EQ(address_of(v4).to_string(), "192.0.2.9");  // IPv4 is never cut
    EXPECT_EQ(address_of(source_key(*parse_ip("2001:db8:1:2:aaaa::1"), 64)).to_string(), "2001:db8:1:2::");
    EXPECT_EQ(address_of(source_key(*parse_ip("2001:db8:1:2:aaaa::1"), 48)).to_string(), "2001:db8:1::");
    EXPECT_EQ(address_of(source_key(*parse_ip("2001:db8:1:2:aaaa::1"), 128)).to_string(), "2001:db8:1:2:aaaa::1");
}

TEST(XdpAbi, LpmKeyIsTheMappedForm) {
    const sluice_lpm_key key = lpm_key(*parse_cidr("10.1.0.0/16"));
    EXPECT_EQ(key.prefixlen, 112u);  // 96 + 16
    const unsigned char expected[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 0, 0};
    EXPECT_EQ(std::memcmp(key.addr, expected, 16), 0);
}

std::string fake_name(std::uint32_t ifindex) { return "veth" + std::to_string(ifindex); }

TEST(XdpReport, ListsConfiguredInterfacesAndOthersThatSawPackets) {
    XdpStats stats;
    stats.slots[0][SLUICE_PASS_RATE_OK] = {10, 1000};
    stats.slots[0][SLUICE_DROP_RATE] = {5, 320};
    stats.slots[0][SLUICE_EVENT_BLOCK_FULL] = {2, 0};
    stats.slots[SLUICE_MAX_INTERFACES][SLUICE_PASS_UNPARSED] = {1, 60};
    sluice_xdp_config config{};
    config.ifindex[0] = 4;
    const std::string text = format_xdp_stats(stats, config, &fake_name);
    EXPECT_EQ(text,
              "veth4 (ifindex 4):\n"
              "  passed                      10 packets             1000 bytes\n"
              "  allow_listed                 0 packets                0 bytes\n"
              "  other_port                   0 packets                0 bytes\n"
              "  unparsed                     0 packets                0 bytes\n"
              "  insert_gated                 0 packets                0 bytes\n"
              "  deny_listed                  0 packets                0 bytes\n"
              "  blocked                      0 packets                0 bytes\n"
              "  rate_dropped                 5 packets              320 bytes\n"
              "  block_map_full               2 times\n"
              "other interfaces:\n"
              "  passed                       0 packets                0 bytes\n"
              "  allow_listed                 0 packets                0 bytes\n"
              "  other_port                   0 packets                0 bytes\n"
              "  unparsed                     1 packets               60 bytes\n"
              "  insert_gated                 0 packets                0 bytes\n"
              "  deny_listed                  0 packets                0 bytes\n"
              "  blocked                      0 packets                0 bytes\n"
              "  rate_dropped                 0 packets                0 bytes\n"
              "  block_map_full               0 times\n");
}

}  // namespace
}  // namespace sluice
