// The Redis store's script is the local store's algorithms again, in Lua and
// with doubles: this drives both with the same random requests at the same
// instants and holds every answer to be the same, to the nanosecond.
#include "store/local_store.h"
#include "store/redis_handle.h"
#include "store/redis_store.h"

#include "tests/support/fake_clock.h"
#include "tests/support/redis_server.h"
#include "tests/support/redis_store_fixture.h"

#include <gtest/gtest.h>

#include <random>

using namespace std::chrono_literals;

namespace sluice {
namespace {

class RedisMatchesLocal : public testing::RedisStoreTest<testing::RedisServer> {
protected:
    void SetUp() override {
        testing::RedisServerTest::SetUp();
        if (IsSkipped()) return;
        start(testing::RefusalCache::off);
    }

    LocalStore local_{100'000};
};

struct RandomQuotas {
    std::mt19937_64 random;

    template <class T>
    T pick(std::initializer_list<T> choices) {
        return choices.begin()[std::uniform_int_distribution<std::size_t>(0, choices.size() - 1)(random)];
    }

    LimitParams params() {
        Quota q;
        q.name = "q";
        q.algorithm = pick({Algorithm::token_bucket, Algorithm::fixed_window, Algorithm::sliding_window});
        q.rate = pick({1.0, 2.0, 3.0, 7.0, 10.0, 100.0, 1000.0, 12345.0, 0.5});
        q.interval = pick<std::chrono::nanoseconds>({1ms, 1s, 7s, 1min, 1h, 24h, 720h});
        if (q.algorithm == Algorithm::token_bucket && pick({false, true})) q.burst = pick({1.0, 5.0, 50.0});
        q.block_interval = pick<std::chrono::nanoseconds>({0ns, 0ns, 0ns, 1s, 1min});
        return LimitParams::from(q);
    }

    // Steps of every size: the same instant, a nanosecond, up to days.
    std::chrono::nanoseconds step() {
        switch (std::uniform_int_distribution<int>(0, 5)(random)) {
        case 0: return 0ns;
        case 1: return 1ns;
        case 2: return std::chrono::nanoseconds(std::uniform_int_distribution<Nanos>(1, 1'000'000)(random));
        case 3: return std::chrono::nanoseconds(std::uniform_int_distribution<Nanos>(1, 10'000'000'000)(random));
        case 4: return std::chrono::nanoseconds(std::uniform_int_distribution<Nanos>(1, 3'600'000'000'000)(random));
        default: return 0ns;
        }
    }
};

TEST_F(RedisMatchesLocal, EveryAnswerOfManyRandomRequestsIsTheLocalStoresToTheNanosecond) {
    for (std::uint64_t seed = 1; seed <= 8; ++seed) {
        RandomQuotas random{std::mt19937_64(seed)};
        // Few keys and quotas, so that requests meet the states others left.
        std::vector<LimitParams> quotas;
        while (quotas.size() < 4) {
            const LimitParams p = random.params();
            if (redis_span_error(p).empty()) quotas.push_back(p);
        }
        for (int request = 0; request < 400; ++request) {
            clock_.advance(random.step());
            const std::size_t count = std::uniform_int_distribution<std::size_t>(1, 3)(random.random);
            std::vector<QuotaCheck> checks;
            for (std::size_t i = 0; i < count; ++i) {
                const std::size_t quota = (request + i) % quotas.size();
                // One key per quota and request (a request checks a key once).
                checks.push_back({&quotas[quota], seed * 100 + quota, random.pick({true, true, true, false}), 7});
            }
            std::vector<CheckResult> expected(count), got(count);
            const StoreReply local = local_.acquire(checks, clock_.now(), expected);
            const StoreReply redis = ask(checks, got);
            const std::string where = "seed " + std::to_string(seed) + ", request " + std::to_string(request);
            ASSERT_EQ(redis, local) << where;
            for (std::size_t i = 0; i < count; ++i) {
                const Evaluation& e = expected[i].evaluation;
                const Evaluation& g = got[i].evaluation;
                const std::string check = where + ", check " + std::to_string(i) + " (" +
                                          std::string(to_string(checks[i].params->algorithm)) + ")";
                ASSERT_EQ(g.allowed, e.allowed) << check;
                ASSERT_EQ(g.remaining, e.remaining) << check;
                ASSERT_EQ(g.reset, e.reset) << check;
                ASSERT_EQ(g.retry_after, e.retry_after) << check;
            }
            for (const QuotaCheck& c : checks) {
                const Usage u = usage(*c.params, local_.peek(c.key), clock_.now());
                const Usage r = usage(*c.params, store_->peek(c.key, c.identity), clock_.now());
                ASSERT_EQ(r.used, u.used) << where;
                ASSERT_EQ(r.remaining, u.remaining) << where;
                ASSERT_EQ(r.reset, u.reset) << where;
            }
        }
    }
}

}  // namespace
}  // namespace sluice
