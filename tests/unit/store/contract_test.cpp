// The store contract: what every store promises the limiter, written from
// the README (quotas, algorithms, precedence: "a refused request consumes
// from none") and limit/quota_store.h (answers at once or resumes its waiter
// exactly once; an unavailable answer consumes nothing). Typed over the
// stores: a new store joins by adding its subject to StoreSubjects, with no
// new test code. A subject whose server is not installed skips, saying so.
#include "store/local_store.h"
#include "store/redis_handle.h"
#include "store/redis_store.h"

#include "tests/support/deferred_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/redis_store_fixture.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

using namespace std::chrono_literals;

namespace sluice {
namespace {

constexpr Nanos kSecond = 1'000'000'000;

// What the suite needs of a store under test: its shared side (peek, forget),
// the handle a thread asks through, a way to let it answer what it deferred
// (on the calling thread, as an event loop would), and whether it can be
// made unavailable.
struct LocalStoreSubject {
    explicit LocalStoreSubject(const Clock&) {}
    static std::string missing() { return {}; }
    LocalStore store{10'000};
    QuotaStore& queries() { return store; }
    QuotaStoreHandle& handle() { return store; }
    void settle() {}  // it answers at once
    static constexpr bool kCanBeUnavailable = false;
};

// Stands for a network store: every answer comes later.
struct DeferredStoreSubject {
    explicit DeferredStoreSubject(const Clock&) {}
    static std::string missing() { return {}; }
    testing::DeferredStore store;
    QuotaStore& queries() { return store; }
    QuotaStoreHandle& handle() { return store; }
    void settle() { store.settle(); }
    static constexpr bool kCanBeUnavailable = true;
    void set_available(bool available) { store.set_available(available); }
};

// Where the Redis subjects' Redis runs: one redis-server of the subject's own,
// or a 3-node Redis Cluster shared by the suite (it takes 2 s to start),
// emptied for each test.
struct OneRedis {
    testing::RedisServer server;
    void configure(RedisStoreSettings& s) const { testing::connect_to(s, server); }
    std::vector<std::uint16_t> ports() const { return {server.port()}; }
};

struct SharedRedisCluster {
    SharedRedisCluster() {
        for (std::uint16_t port : ports()) testing::redis_call(port, {"FLUSHALL"});
    }
    void configure(RedisStoreSettings& s) const { testing::connect_to(s, cluster()); }
    static const std::vector<std::uint16_t>& ports() { return cluster().ports(); }

private:
    static const testing::RedisCluster& cluster() {
        static const testing::RedisCluster cluster(3);
        return cluster;
    }
};

// The Redis store on a real Redis, each thread asking through its own event
// loop and handle, as sluiced's threads do. The script takes the test's clock
// (RedisClock::caller), so that instants replay to the nanosecond.
template <class Redis>
struct RedisStoreSubject {
    explicit RedisStoreSubject(const Clock& clock) : store(settings(redis), clock) {}
    static std::string missing() {
        return testing::redis_server_program().empty() ? std::string(testing::kRedisServerMissing) : "";
    }
    QuotaStore& queries() { return store; }
    // A loop runs what was posted to it (a forgotten key) between requests.
    QuotaStoreHandle& handle() {
        Loop& loop = this_threads_loop();
        loop.io.restart();
        loop.io.poll();
        return *loop.handle;
    }
    void settle() {
        Loop& loop = this_threads_loop();
        testing::run_until_answered(loop.io, *loop.handle);
    }
    static constexpr bool kCanBeUnavailable = true;
    // Redis refuses the script to the store's user: an error reply, not a
    // timeout, so that no call sent meanwhile runs later.
    void set_available(bool available) {
        for (std::uint16_t port : redis.ports()) {
            const RedisReplyPtr reply =
                testing::redis_call(port, {"ACL", "SETUSER", "default", available ? "+@scripting" : "-@scripting"});
            ASSERT_FALSE(is_error(*reply)) << reply_text(*reply);
        }
    }

private:
    static RedisStoreSettings settings(const Redis& redis) {
        // The refusal cache on, as sluiced runs the store: the contract holds with it.
        RedisStoreSettings s = testing::exact_replay_settings(testing::RefusalCache::on);
        redis.configure(s);
        s.key_prefix = "contract:";
        return s;
    }
    struct Loop {
        boost::asio::io_context io;
        std::shared_ptr<RedisHandle> handle;
    };
    Loop& this_threads_loop() {
        std::lock_guard lock(mutex_);
        std::unique_ptr<Loop>& loop = loops_[std::this_thread::get_id()];
        if (!loop) {
            loop = std::make_unique<Loop>();
            loop->handle = store.handle_for(loop->io);
        }
        return *loop;
    }

    Redis redis;

public:
    RedisStore store;

private:
    std::mutex mutex_;
    std::map<std::thread::id, std::unique_ptr<Loop>> loops_;  // gone before the store
};

template <class Subject>
class StoreContract : public ::testing::Test {
protected:
    void SetUp() override {
        if (const std::string missing = Subject::missing(); !missing.empty()) GTEST_SKIP() << missing;
        subject_.emplace(clock_);
    }

    static LimitParams params(double rate, std::chrono::nanoseconds interval, Algorithm algorithm,
                              std::chrono::nanoseconds block = 0ns) {
        Quota q = testing::make_quota("q", "", rate, interval, algorithm);
        q.block_interval = block;
        return LimitParams::from(q);
    }

    // One store call, answered at once or when the store settles.
    StoreReply acquire(std::span<const QuotaCheck> checks, std::span<CheckResult> results) {
        testing::ReplyCatcher waiter;
        const std::optional<StoreReply> now = subject_->handle().acquire(checks, clock_.now(), results, waiter);
        if (now) {
            EXPECT_EQ(waiter.resumes, 0) << "answered at once, and woke the waiter too";
            return *now;
        }
        EXPECT_EQ(waiter.resumes, 0) << "woken within the call that deferred";
        subject_->settle();
        EXPECT_EQ(waiter.resumes, 1) << "a deferred call resumes its waiter exactly once";
        return waiter.reply.value_or(StoreReply::unavailable);
    }
    bool admits(std::span<const QuotaCheck> checks, std::span<CheckResult> results) {
        return acquire(checks, results) == StoreReply::admitted;
    }

    // One request counted by one enforcing check.
    CheckResult hit(const LimitParams& p, std::uint64_t key) {
        const QuotaCheck check{&p, key, true};
        CheckResult result;
        const bool allowed = admits({&check, 1}, {&result, 1});
        EXPECT_EQ(allowed, result.evaluation.allowed) << "one check: the request's verdict is the check's";
        return result;
    }

    // How many of `n` requests at this instant pass.
    int admitted(const LimitParams& p, std::uint64_t key, int n) {
        int passed = 0;
        for (int i = 0; i < n; ++i) passed += hit(p, key).evaluation.allowed;
        return passed;
    }

    QuotaStore& queries() { return subject_->queries(); }
    Subject& subject() { return *subject_; }
    testing::FakeClock clock_;

private:
    std::optional<Subject> subject_;  // after the clock it reads
};

using StoreSubjects = ::testing::Types<LocalStoreSubject, DeferredStoreSubject, RedisStoreSubject<OneRedis>,
                                       RedisStoreSubject<SharedRedisCluster>>;
TYPED_TEST_SUITE(StoreContract, StoreSubjects);

TYPED_TEST(StoreContract, TokenBucketAdmitsTheBurstThenOneRequestPerEmission) {
    const LimitParams p = this->params(10, 1min, Algorithm::token_bucket);  // one request per 6 s
    for (std::uint32_t left = 9;; --left) {
        const CheckResult r = this->hit(p, 1);
        ASSERT_TRUE(r.evaluation.allowed);
        EXPECT_EQ(r.evaluation.remaining, left);
        if (left == 0) break;
    }
    CheckResult refused = this->hit(p, 1);
    EXPECT_FALSE(refused.evaluation.allowed);
    EXPECT_EQ(refused.evaluation.retry_after, 6 * kSecond);
    EXPECT_EQ(refused.evaluation.reset, 60 * kSecond);
    this->clock_.advance(6s - 1ns);
    EXPECT_EQ(this->admitted(p, 1, 1), 0) << "a nanosecond early";
    this->clock_.advance(1ns);
    EXPECT_EQ(this->admitted(p, 1, 3), 1) << "exactly one emission has passed";
}

TYPED_TEST(StoreContract, FixedWindowAdmitsTheRateUntilTheWindowThatTheFirstRequestStartedEnds) {
    const LimitParams p = this->params(5, 1min, Algorithm::fixed_window);
    EXPECT_EQ(this->admitted(p, 2, 1), 1);
    this->clock_.advance(40s);
    EXPECT_EQ(this->admitted(p, 2, 10), 4);
    const CheckResult refused = this->hit(p, 2);
    EXPECT_FALSE(refused.evaluation.allowed);
    EXPECT_EQ(refused.evaluation.retry_after, 20 * kSecond) << "until the end of the window the first request opened";
    this->clock_.advance(20s - 1ns);
    EXPECT_EQ(this->admitted(p, 2, 1), 0);
    this->clock_.advance(1ns);
    const CheckResult fresh = this->hit(p, 2);
    EXPECT_TRUE(fresh.evaluation.allowed);
    EXPECT_EQ(fresh.evaluation.remaining, 4u) << "the window refills whole";
}

TYPED_TEST(StoreContract, SlidingWindowAdmitsTheRatePerWindowAndForgetsTwoWindowsLater) {
    const LimitParams p = this->params(10, 1min, Algorithm::sliding_window);
    EXPECT_EQ(this->admitted(p, 3, 15), 10);
    EXPECT_FALSE(this->hit(p, 3).evaluation.allowed);
    this->clock_.advance(2min);
    EXPECT_EQ(this->admitted(p, 3, 15), 10) << "two windows on, nothing of the first counts";
}

TYPED_TEST(StoreContract, RefusedRequestConsumesFromNoQuota) {
    const LimitParams roomy = this->params(10, 1min, Algorithm::fixed_window);
    const LimitParams tight = this->params(1, 1min, Algorithm::fixed_window);
    const QuotaCheck checks[] = {{&roomy, 11, true}, {&tight, 22, true}};
    CheckResult results[2];
    EXPECT_TRUE(this->admits(checks, results));
    EXPECT_EQ(results[0].evaluation.remaining, 9u);
    EXPECT_FALSE(this->admits(checks, results));
    EXPECT_TRUE(results[0].evaluation.allowed) << "the roomy quota alone would allow";
    EXPECT_FALSE(results[1].evaluation.allowed);
    EXPECT_FALSE(this->admits(checks, results));
    EXPECT_EQ(this->queries().peek(11, 0).current, 1u) << "the roomy quota must not pay for refusals";
}

TYPED_TEST(StoreContract, AllOrNothingWhicheverCheckRefuses) {
    const LimitParams roomy = this->params(100, 1min, Algorithm::token_bucket);
    const LimitParams tight = this->params(2, 1min, Algorithm::token_bucket);
    const QuotaCheck tight_last[] = {{&roomy, 31, true}, {&roomy, 32, true}, {&tight, 33, true}};
    const QuotaCheck tight_first[] = {{&tight, 33, true}, {&roomy, 34, true}};
    CheckResult results[3];
    int passed = 0;
    for (int i = 0; i < 5; ++i) passed += this->admits(tight_last, results);
    for (int i = 0; i < 5; ++i) passed += this->admits(tight_first, {results, 2});
    EXPECT_EQ(passed, 2);
    EXPECT_EQ(this->hit(roomy, 31).evaluation.remaining, 97u) << "key 31 paid for the 2 admitted requests only";
    EXPECT_EQ(this->hit(roomy, 34).evaluation.remaining, 99u) << "key 34 never paid";
}

TYPED_TEST(StoreContract, RepeatedRefusalsDoNotPushTheRetryTimeBack) {
    const LimitParams p = this->params(1, 10s, Algorithm::token_bucket);
    EXPECT_EQ(this->admitted(p, 4, 1), 1);
    for (int i = 0; i < 9; ++i) {
        this->clock_.advance(1s);
        EXPECT_EQ(this->hit(p, 4).evaluation.retry_after, (9 - i) * kSecond);
    }
    this->clock_.advance(1s);
    EXPECT_EQ(this->admitted(p, 4, 2), 1);
}

TYPED_TEST(StoreContract, BlockIntervalRefusesTheKeyForItsWholeLengthAfterARefusal) {
    const LimitParams p = this->params(2, 10s, Algorithm::token_bucket, 1min);
    EXPECT_EQ(this->admitted(p, 5, 2), 2);
    const CheckResult refused = this->hit(p, 5);
    EXPECT_FALSE(refused.evaluation.allowed);
    EXPECT_EQ(refused.evaluation.retry_after, 60 * kSecond) << "the block, not the refill";
    this->clock_.advance(30s);  // the bucket is full again, the block is not over
    const CheckResult still = this->hit(p, 5);
    EXPECT_FALSE(still.evaluation.allowed);
    EXPECT_EQ(still.evaluation.retry_after, 30 * kSecond) << "a refusal while blocked does not extend the block";
    this->clock_.advance(30s);
    EXPECT_EQ(this->admitted(p, 5, 3), 2);
    EXPECT_EQ(this->admitted(this->params(2, 10s, Algorithm::token_bucket, 1min), 6, 2), 2) << "other keys never were";
}

TYPED_TEST(StoreContract, DryRunCheckNeverRefusesButReportsExhaustion) {
    const LimitParams p = this->params(2, 1min, Algorithm::fixed_window);
    const QuotaCheck check{&p, 7, false};
    CheckResult result;
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(this->admits({&check, 1}, {&result, 1}));
    EXPECT_FALSE(result.evaluation.allowed);
    EXPECT_EQ(result.evaluation.remaining, 0u);
    EXPECT_EQ(this->queries().peek(7, 0).current, 2u);
}

TYPED_TEST(StoreContract, PeekChangesNothingAndForgetStartsTheKeyAfresh) {
    const LimitParams p = this->params(3, 1min, Algorithm::fixed_window, 1h);
    EXPECT_EQ(this->admitted(p, 8, 5), 3);
    const LimitState seen = this->queries().peek(8, 0);
    EXPECT_TRUE(seen.blocked_at(this->clock_.now()));
    EXPECT_EQ(this->queries().peek(8, 0).current, seen.current);
    this->queries().forget(8, 0);
    EXPECT_EQ(this->queries().peek(8, 0).current, 0u);
    EXPECT_EQ(this->admitted(p, 8, 5), 3) << "unblocked and counted from zero";
}

TYPED_TEST(StoreContract, TwoThreadsOnOneKeyAdmitExactlyTheQuota) {
    for (const Algorithm algorithm : {Algorithm::token_bucket, Algorithm::fixed_window, Algorithm::sliding_window}) {
        const LimitParams p = this->params(1000, 1h, algorithm);
        const std::uint64_t key = 0xABCDEF + static_cast<int>(algorithm);
        std::atomic<int> admitted{0};
        auto hammer = [&] {
            const QuotaCheck check{&p, key, true};
            for (int i = 0; i < 5000; ++i) {
                CheckResult result;
                admitted += this->admits({&check, 1}, {&result, 1});
            }
        };
        std::thread a(hammer), b(hammer);
        a.join();
        b.join();
        EXPECT_EQ(admitted.load(), 1000) << to_string(algorithm);
    }
}

TYPED_TEST(StoreContract, AnUnavailableAnswerConsumesNothing) {
    if constexpr (!TypeParam::kCanBeUnavailable) {
        GTEST_SKIP() << "this store is never unavailable";
    } else {
        const LimitParams p = this->params(3, 1min, Algorithm::fixed_window);
        EXPECT_EQ(this->admitted(p, 9, 1), 1);
        this->subject().set_available(false);
        const QuotaCheck check{&p, 9, true};
        CheckResult result;
        for (int i = 0; i < 5; ++i) EXPECT_EQ(this->acquire({&check, 1}, {&result, 1}), StoreReply::unavailable);
        this->subject().set_available(true);
        EXPECT_EQ(this->admitted(p, 9, 5), 2) << "the calls it could not answer counted nothing";
    }
}

}  // namespace
}  // namespace sluice
