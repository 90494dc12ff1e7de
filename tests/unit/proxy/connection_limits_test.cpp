#include "proxy/connection_limits.h"
#include "limit/quota.h"

#include "tests/support/fake_clock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <initializer_list>
#include <string_view>
#include <thread>
#include <vector>

namespace sluice {
namespace {

IpAddress ip(std::string_view text) { return *parse_ip(text); }

using Refusal = ConnectionLimits::Refusal;
using ::testing::ElementsAre;
using namespace std::chrono_literals;

// A connection of each client in turn; the admitted ones stay in `held`.
std::vector<Refusal> admit_each(ConnectionLimits& limits, std::vector<ConnectionLimits::Slot>& held,
                                std::initializer_list<std::string_view> clients,
                                const std::vector<Cidr>& trusted_proxies = {}) {
    std::vector<Refusal> refusals;
    for (const std::string_view client : clients) {
        ConnectionLimits::Slot slot;
        refusals.push_back(limits.admit(ip(client), slot, trusted_proxies));
        if (refusals.back() == Refusal::none) held.push_back(std::move(slot));
    }
    return refusals;
}

TEST(ConnectionLimits, PerIpCapRefusesTheNextConnectionOfThatClientOnly) {
    ConnectionLimits limits(100, 2);
    std::vector<ConnectionLimits::Slot> held;
    EXPECT_THAT(admit_each(limits, held, {"192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2"}),
                ElementsAre(Refusal::none, Refusal::none, Refusal::per_ip, Refusal::none));
    EXPECT_EQ(limits.counts().open, 3u);
    EXPECT_EQ(limits.counts().refused_per_ip, 1u);
    EXPECT_EQ(limits.counts().refused_total, 0u);

    held.erase(held.begin());  // one of 192.0.2.1 closes: room for one more
    EXPECT_THAT(admit_each(limits, held, {"192.0.2.1", "192.0.2.1"}), ElementsAre(Refusal::none, Refusal::per_ip));
    EXPECT_EQ(limits.counts().open, 3u);
}

TEST(ConnectionLimits, TotalCapCountsEveryClient) {
    ConnectionLimits limits(2, 0);
    std::vector<ConnectionLimits::Slot> held;
    EXPECT_THAT(admit_each(limits, held, {"192.0.2.1", "192.0.2.2", "192.0.2.3"}),
                ElementsAre(Refusal::none, Refusal::none, Refusal::total));
    EXPECT_EQ(limits.counts().open, 2u);
    EXPECT_EQ(limits.counts().limit, 2u);
    EXPECT_EQ(limits.counts().refused_total, 1u);
    EXPECT_EQ(limits.clients(), 0u);  // no per-IP cap: no table
}

TEST(ConnectionLimits, ATrustedProxyHasOnlyTheTotalCap) {
    ConnectionLimits limits(3, 1);
    std::vector<ConnectionLimits::Slot> held;
    EXPECT_THAT(
        admit_each(limits, held, {"10.0.0.5", "10.0.0.5", "192.0.2.1", "10.0.0.5"}, {*parse_cidr("10.0.0.0/8")}),
        ElementsAre(Refusal::none, Refusal::none, Refusal::none, Refusal::total));
    EXPECT_EQ(limits.clients(), 1u);  // 192.0.2.1 only
    held.clear();
    EXPECT_EQ(limits.open(), 0u);
    EXPECT_EQ(limits.clients(), 0u);
}

TEST(ConnectionLimits, AnIpv6ClientIsItsSlash64) {
    ConnectionLimits limits(100, 1);
    std::vector<ConnectionLimits::Slot> held;
    EXPECT_THAT(admit_each(limits, held, {"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:3::1"}),
                ElementsAre(Refusal::none, Refusal::per_ip, Refusal::none));
    EXPECT_EQ(connection_key(ip("2001:db8:1:2:ffff::9")), ip("2001:db8:1:2::"));
    EXPECT_EQ(connection_key(ip("192.0.2.7")), ip("192.0.2.7"));
}

// The blocks it is told of, as "client until origin".
class RecordingBlocks final : public BlockListener {
public:
    std::vector<std::string> blocked;
    void client_blocked(const IpAddress& client, Nanos until, std::string_view origin) override {
        blocked.push_back(client.to_string() + " " + std::to_string(until) + " " + std::string(origin));
    }
    void client_unblocked(const IpAddress&) override {}
};

TEST(ConnectionLimits, AClientOverItsCapIsBlockedWhenAskedFor) {
    testing::FakeClock clock;
    RecordingBlocks blocks;
    ConnectionLimits limits(100, 1);
    std::vector<ConnectionLimits::Slot> held;
    admit_each(limits, held, {"2001:db8::1", "2001:db8::2"});
    EXPECT_TRUE(blocks.blocked.empty());

    limits.block_over_per_ip_cap(blocks, clock, std::chrono::nanoseconds(10min).count());
    EXPECT_THAT(admit_each(limits, held, {"2001:db8::3", "192.0.2.1"}), ElementsAre(Refusal::per_ip, Refusal::none));
    EXPECT_THAT(blocks.blocked,
                ElementsAre("2001:db8::3 " + std::to_string(clock.now() + std::chrono::nanoseconds(10min).count()) +
                            " connections"));
}

TEST(ConnectionLimits, AClientLeavesTheTableWithItsLastConnection) {
    ConnectionLimits limits(100'000, 1);
    {
        std::vector<ConnectionLimits::Slot> slots(1000);
        for (unsigned i = 0; i < slots.size(); ++i) {
            IpAddress sprayed = ip("2001:db8::");
            sprayed.bytes[6] = static_cast<std::uint8_t>(i >> 8);
            sprayed.bytes[7] = static_cast<std::uint8_t>(i);
            ASSERT_EQ(limits.admit(sprayed, slots[i]), Refusal::none);
        }
        EXPECT_EQ(limits.clients(), 1000u);
    }
    EXPECT_EQ(limits.clients(), 0u);
    EXPECT_EQ(limits.open(), 0u);
}

TEST(ConnectionLimits, ThreadsShareTheCaps) {
    constexpr unsigned threads = 4, attempts = 1000;
    ConnectionLimits limits(10'000, 3);
    std::atomic<unsigned> admitted{0};
    std::vector<std::vector<ConnectionLimits::Slot>> held(threads);
    std::vector<std::thread> running;
    for (unsigned t = 0; t < threads; ++t) {
        running.emplace_back([&, t] {
            for (unsigned i = 0; i < attempts; ++i) {
                ConnectionLimits::Slot slot;
                if (limits.admit(ip("192.0.2.1"), slot) == Refusal::none) {
                    held[t].push_back(std::move(slot));
                    ++admitted;
                }
            }
        });
    }
    for (std::thread& t : running) t.join();
    EXPECT_EQ(admitted.load(), 3u);
    EXPECT_EQ(limits.counts().refused_per_ip, threads * attempts - 3);
}

TEST(ConnectionLimits, DefaultLeavesTwoDescriptorsPerConnectionAndAReserve) {
    // (65536 - 2 threads x 64 idle upstream connections - 64) / 2
    EXPECT_EQ(default_max_connections(65536, 2, 64), 32672u);
    EXPECT_EQ(default_max_connections(100, 4, 64), 1u);
}

}  // namespace
}  // namespace sluice
