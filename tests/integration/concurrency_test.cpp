// Two client threads hammer one key: a quota of N admits exactly N.
#include "harness.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <thread>

namespace sluice::test {
namespace {

class Concurrency : public ::testing::TestWithParam<const char*> {};

TEST_P(Concurrency, AQuotaOfNAdmitsExactlyN) {
    constexpr int limit = 1000;
    constexpr int per_thread = 700;
    constexpr int connections_per_thread = 4;
    // A long interval: nothing refills while the test runs.
    Deployment sluice(nlohmann::json{{"quotas",
                                      {{{"name", "hammered"},
                                        {"path", ""},
                                        {"key", "client_ip"},
                                        {"rate", limit},
                                        {"interval", "10h"},
                                        {"algorithm", GetParam()}}}}});

    std::atomic<int> admitted{0}, refused{0}, other{0};
    const auto hammer = [&] {
        try {
            std::deque<HttpClient> clients;  // kept alive, used in turn
            for (int c = 0; c < connections_per_thread; ++c) clients.emplace_back(sluice.port());
            for (int i = 0; i < per_thread; ++i) {
                const unsigned status = clients[i % connections_per_thread].get("/hammer").result_int();
                ++(status == 200 ? admitted : status == 429 ? refused : other);
            }
        } catch (const std::exception& e) {
            ADD_FAILURE() << e.what();
        }
    };
    std::thread first(hammer);
    std::thread second(hammer);
    first.join();
    second.join();

    EXPECT_EQ(admitted, limit);
    EXPECT_EQ(refused, 2 * per_thread - limit);
    EXPECT_EQ(other, 0);
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, Concurrency, ::testing::Values("fixed_window", "token_bucket"));

}  // namespace
}  // namespace sluice::test
