// The Redis store where it does more than the store contract asks: the
// refusal cache, Redis losing its scripts, timeouts, the circuit breaker,
// error replies, key expiry and the fleet key claim. On a real redis-server,
// with Redis's clock (TIME) and a real steady clock, as sluiced runs it.
#include "store/redis_handle.h"
#include "store/redis_store.h"

#include "tests/support/deferred_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/redis_server.h"

#include <utility>  // before Asio (GCC 12)

#include <boost/asio/ip/tcp.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <deque>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace sluice {
namespace {

using tcp = boost::asio::ip::tcp;

constexpr std::string_view kPrefix = "handle-test:";
constexpr std::uint64_t kIdentity = 0xC11E;
constexpr auto kProbeInterval = 200ms;

constexpr Nanos nanos(std::chrono::nanoseconds d) { return d.count(); }

LimitParams quota(double rate, std::chrono::milliseconds interval, Algorithm algorithm,
                  std::chrono::milliseconds block = 0ms) {
    Quota q = testing::make_quota("q", "", rate, interval, algorithm);
    q.block_interval = block;
    return LimitParams::from(q);
}

// An event loop and its handle, the handle gone first.
struct Loop {
    explicit Loop(RedisStore& store) : handle(store.handle_for(io)) {}
    boost::asio::io_context io;
    std::shared_ptr<RedisHandle> handle;
};

// One request of one check, and how the handle answered it.
struct Request {
    QuotaCheck check;
    CheckResult result;
    testing::ReplyCatcher waiter;
    std::optional<StoreReply> at_once;  // answered on the caller's stack frame

    bool answered() const { return at_once || waiter.resumes > 0; }
    StoreReply reply() const { return at_once ? *at_once : waiter.reply.value(); }
    const Evaluation& evaluation() const { return result.evaluation; }
};

class RedisStoreTest : public testing::RedisServerTest {
protected:
    void SetUp() override {
        testing::RedisServerTest::SetUp();
        if (!IsSkipped()) server_.emplace();
    }

    RedisStoreSettings settings() const {
        RedisStoreSettings s;
        s.endpoint = server_->endpoint();
        s.key_prefix = kPrefix;
        s.timeout = nanos(2s);
        s.failures_to_open = 3;
        s.probe_interval = nanos(kProbeInterval);
        return s;
    }

    // The store, and its first loop.
    void open(RedisStoreSettings s) {
        store_.emplace(std::move(s), clock_);
        add_loop();
    }
    Loop& add_loop() { return loops_.emplace_back(*store_); }
    Loop& loop() { return loops_.front(); }
    RedisStore& store() { return *store_; }
    const RedisStoreStats& stats() const { return store_->stats(); }

    // Asks `loop`'s handle at the clock's now; a deferred answer comes as the loop runs.
    Request& send(Loop& loop, const LimitParams& params, std::uint64_t key) {
        Request& r = requests_.emplace_back();
        r.check = {&params, key, true, kIdentity};
        r.at_once = loop.handle->acquire({&r.check, 1}, clock_.now(), {&r.result, 1}, r.waiter);
        EXPECT_EQ(r.waiter.resumes, 0) << "woken within acquire()";
        return r;
    }

    // send(), then runs the loop until the answer came.
    Request& ask(Loop& loop, const LimitParams& params, std::uint64_t key) {
        Request& r = send(loop, params, key);
        EXPECT_TRUE(run_until(loop, [&] { return r.answered(); })) << "the waiter was not resumed within 2 s";
        EXPECT_LE(r.waiter.resumes, 1) << "resumed more than once";
        return r;
    }

    // Runs `loop` until `done`, for 2 s at most: a hang fails the test rather
    // than hanging it.
    template <class Done>
    static bool run_until(Loop& loop, Done done) {
        const auto give_up = std::chrono::steady_clock::now() + 2s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > give_up) return false;
            loop.io.restart();
            loop.io.run_one_for(10ms);
        }
        return true;
    }

    void sleep_until(Nanos when) const {
        if (const Nanos left = when - clock_.now(); left > 0)
            std::this_thread::sleep_for(std::chrono::nanoseconds(left));
    }

    // The keys under the store's prefix.
    std::vector<std::string> keys() const {
        const RedisReplyPtr reply = server_->call({"KEYS", std::string(kPrefix) + "*"});
        std::vector<std::string> names;
        for (std::size_t i = 0; i < reply->elements; ++i) names.emplace_back(reply_text(*reply->element[i]));
        return names;
    }

    SteadyClock clock_;
    std::deque<Request> requests_;  // where acquire() may write until the loops are gone
    std::optional<testing::RedisServer> server_;

private:
    std::optional<RedisStore> store_;
    std::deque<Loop> loops_;  // gone before the store
};

class RedisRefusalCache : public RedisStoreTest {};

TEST_F(RedisRefusalCache, ARefusedKeyIsRefusedWithoutARoundTripUntilItsRetryTime) {
    open(settings());
    const LimitParams p = quota(2, 500ms, Algorithm::fixed_window);
    EXPECT_EQ(ask(loop(), p, 1).reply(), StoreReply::admitted);
    EXPECT_EQ(ask(loop(), p, 1).reply(), StoreReply::admitted);
    const Request& refused = ask(loop(), p, 1);
    ASSERT_FALSE(refused.at_once) << "the first refusal comes from Redis";
    ASSERT_EQ(refused.reply(), StoreReply::refused);
    const Nanos retry_after = refused.evaluation().retry_after;
    EXPECT_GT(retry_after, 0);
    EXPECT_LE(retry_after, nanos(500ms));

    const std::uint64_t round_trips = stats().round_trips.load();
    const Request& cached = send(loop(), p, 1);
    EXPECT_EQ(cached.at_once, StoreReply::refused) << "answered from the cache, on the caller's stack frame";
    EXPECT_FALSE(cached.evaluation().allowed);
    EXPECT_GT(cached.evaluation().retry_after, 0);
    EXPECT_LE(cached.evaluation().retry_after, retry_after);
    EXPECT_EQ(stats().round_trips.load(), round_trips);
    EXPECT_EQ(stats().cache_refusals.load(), 1u);

    std::this_thread::sleep_for(100ms);
    const Request& later = send(loop(), p, 1);
    EXPECT_EQ(later.at_once, StoreReply::refused);
    EXPECT_GT(later.evaluation().retry_after, 0);
    EXPECT_LE(later.evaluation().retry_after, cached.evaluation().retry_after - nanos(100ms))
        << "the retry time counts down";
    EXPECT_EQ(stats().round_trips.load(), round_trips);
    EXPECT_EQ(stats().cache_refusals.load(), 2u);

    // The cache's retry time is never later than Redis's (it counts from
    // before the call); the margin covers the call's latency.
    std::this_thread::sleep_for(std::chrono::nanoseconds(later.evaluation().retry_after) + 20ms);
    const Request& after = ask(loop(), p, 1);
    EXPECT_FALSE(after.at_once) << "Redis is asked again once the retry time passed";
    EXPECT_EQ(after.reply(), StoreReply::admitted) << "a new window";
    EXPECT_EQ(stats().round_trips.load(), round_trips + 1);
    EXPECT_EQ(stats().cache_refusals.load(), 2u);
}

TEST_F(RedisRefusalCache, ForgetClearsTheKeyFromEveryLoopsCacheAndFromRedis) {
    open(settings());
    Loop& a = loop();
    Loop& b = add_loop();
    const LimitParams p = quota(1, 1min, Algorithm::fixed_window, 1h);
    EXPECT_EQ(ask(a, p, 1).reply(), StoreReply::admitted);
    EXPECT_EQ(ask(a, p, 1).reply(), StoreReply::refused);  // blocked for an hour
    EXPECT_EQ(ask(b, p, 1).reply(), StoreReply::refused);
    EXPECT_EQ(send(a, p, 1).at_once, StoreReply::refused) << "in a's cache";
    EXPECT_EQ(send(b, p, 1).at_once, StoreReply::refused) << "in b's cache";
    EXPECT_EQ(keys().size(), 1u);

    store().forget(1, kIdentity);
    EXPECT_TRUE(keys().empty()) << "the key is gone from Redis";
    for (Loop* l : {&a, &b}) {  // each loop runs the clear posted to it
        l->io.restart();
        l->io.poll();
    }
    const Request& first = ask(a, p, 1);
    EXPECT_FALSE(first.at_once) << "no longer in a's cache";
    EXPECT_EQ(first.reply(), StoreReply::admitted) << "unblocked, counted from zero";
    const Request& second = ask(b, p, 1);
    EXPECT_FALSE(second.at_once) << "no longer in b's cache";
    EXPECT_EQ(second.reply(), StoreReply::refused) << "a took the window's one request";
}

TEST_F(RedisRefusalCache, ARefusalComputedBeforeAnUnblockDoesNotComeBackIntoTheCache) {
    open(settings());
    Loop& a = loop();
    const LimitParams p = quota(1, 1min, Algorithm::fixed_window, 1h);
    EXPECT_EQ(ask(a, p, 1).reply(), StoreReply::admitted);
    Request& in_flight = send(a, p, 1);  // Redis refuses it: blocked for an hour
    std::this_thread::sleep_for(20ms);   // its reply waits in the socket
    store().forget(1, kIdentity);        // the clear is posted ahead of reading that reply
    EXPECT_TRUE(run_until(a, [&] { return in_flight.answered(); }));
    EXPECT_EQ(in_flight.reply(), StoreReply::refused);
    const Request& next = ask(a, p, 1);
    EXPECT_FALSE(next.at_once) << "the unblocked key is asked of Redis, not refused from the cache";
    EXPECT_EQ(next.reply(), StoreReply::admitted);
}

class RedisStoreFaults : public RedisStoreTest {
protected:
    // Three requests that Redis (down) fails: the third opens the breaker.
    void fail_three_times(const LimitParams& p) {
        for (int i = 1; i <= 3; ++i) {
            const Request& r = ask(loop(), p, 1);
            EXPECT_FALSE(r.at_once) << "failure " << i << " was asked of Redis";
            EXPECT_EQ(r.reply(), StoreReply::unavailable) << "failure " << i;
        }
        EXPECT_EQ(stats().breaker_opens.load(), 1u);
        EXPECT_EQ(stats().open_breakers.load(), 1);
    }
};

TEST_F(RedisStoreFaults, AfterScriptFlushTheScriptIsSentAgainAndAnswersAsBefore) {
    open(settings());
    const LimitParams p = quota(3, 1min, Algorithm::fixed_window);
    EXPECT_EQ(ask(loop(), p, 1).reply(), StoreReply::admitted);
    std::uint64_t round_trips = stats().round_trips.load();
    EXPECT_EQ(ask(loop(), p, 1).reply(), StoreReply::admitted);
    EXPECT_EQ(stats().round_trips.load(), round_trips + 1) << "EVALSHA";

    for (const StoreReply expected : {StoreReply::admitted, StoreReply::refused}) {
        ASSERT_FALSE(is_error(*server_->call({"SCRIPT", "FLUSH"})));
        round_trips = stats().round_trips.load();
        const Request& r = ask(loop(), p, 1);
        EXPECT_FALSE(r.at_once);
        EXPECT_EQ(r.reply(), expected);
        EXPECT_EQ(stats().round_trips.load(), round_trips + 2) << "EVALSHA, NOSCRIPT, then EVAL";
    }
    EXPECT_EQ(stats().errors.load(), 0u);
    EXPECT_EQ(stats().timeouts.load(), 0u);
}

TEST_F(RedisStoreFaults, ARequestRedisDoesNotAnswerIsUnavailableAtItsDeadlineAndTheLateReplyIsDropped) {
    RedisStoreSettings s = settings();
    s.timeout = nanos(50ms);
    open(s);
    const LimitParams p = quota(10, 1min, Algorithm::fixed_window);
    ASSERT_EQ(ask(loop(), p, 1).reply(), StoreReply::admitted);  // connected, the script loaded

    server_->kill(SIGSTOP);
    const Nanos start = clock_.now();
    const Request& r = ask(loop(), p, 1);
    const Nanos waited = clock_.now() - start;
    EXPECT_FALSE(r.at_once);
    EXPECT_EQ(r.reply(), StoreReply::unavailable);
    EXPECT_GE(waited, nanos(50ms)) << "not before its deadline";
    EXPECT_LT(waited, nanos(2s));
    EXPECT_EQ(stats().timeouts.load(), 1u);
    EXPECT_EQ(stats().errors.load(), 0u);
    EXPECT_EQ(loop().handle->in_flight(), 1u) << "the call waits for its reply";

    server_->kill(SIGCONT);
    EXPECT_TRUE(run_until(loop(), [&] { return loop().handle->in_flight() == 0; }));
    EXPECT_EQ(r.waiter.resumes, 1) << "the late reply woke nobody";
    const Request& next = ask(loop(), p, 1);
    EXPECT_EQ(next.reply(), StoreReply::admitted) << "the connection serves on";
    EXPECT_EQ(next.evaluation().remaining, 8u) << "what the late call consumed was given back";
}

TEST_F(RedisStoreFaults, TheBreakerOpensAfterThreeFailuresAndItsProbeClosesItOnceRedisIsBack) {
    open(settings());
    const LimitParams p = quota(10, 1min, Algorithm::fixed_window);
    ASSERT_EQ(ask(loop(), p, 1).reply(), StoreReply::admitted);
    server_->kill(SIGKILL);
    fail_three_times(p);
    const Nanos opened = clock_.now();
    const std::uint64_t round_trips = stats().round_trips.load();
    {
        // Nothing goes to Redis while the breaker is open: a listener on its
        // port sees no connection.
        boost::asio::io_context io;
        tcp::acceptor listener(io, tcp::endpoint(boost::asio::ip::address_v4::loopback(), server_->port()));
        for (int i = 0; i < 5; ++i) EXPECT_EQ(send(loop(), p, 1).at_once, StoreReply::unavailable);
        loop().io.restart();
        loop().io.run_for(50ms);
        listener.non_blocking(true);
        tcp::socket connection(io);
        boost::system::error_code error;
        listener.accept(connection, error);
        EXPECT_EQ(error, boost::asio::error::would_block) << "a connection was attempted";
    }
    EXPECT_EQ(stats().breaker_refusals.load(), 5u);
    EXPECT_EQ(stats().round_trips.load(), round_trips);

    server_->restart();  // empty
    sleep_until(opened + nanos(kProbeInterval));
    Request& probe = send(loop(), p, 1);
    EXPECT_FALSE(probe.at_once) << "the probe goes to Redis";
    EXPECT_EQ(send(loop(), p, 1).at_once, StoreReply::unavailable) << "no other request while the probe is out";
    EXPECT_TRUE(run_until(loop(), [&] { return probe.answered(); }));
    EXPECT_EQ(probe.reply(), StoreReply::admitted);
    EXPECT_EQ(probe.evaluation().remaining, 9u);
    EXPECT_EQ(stats().open_breakers.load(), 0);
    EXPECT_EQ(stats().breaker_opens.load(), 1u);

    const Request& next = ask(loop(), p, 1);
    EXPECT_FALSE(next.at_once);
    EXPECT_EQ(next.reply(), StoreReply::admitted);
    EXPECT_EQ(next.evaluation().remaining, 8u) << "counted in Redis again";
}

TEST_F(RedisStoreFaults, AFailedProbeKeepsTheBreakerOpenForAnotherInterval) {
    open(settings());
    const LimitParams p = quota(10, 1min, Algorithm::fixed_window);
    server_->kill(SIGKILL);
    fail_three_times(p);
    std::this_thread::sleep_for(kProbeInterval);

    const Request& probe = ask(loop(), p, 1);
    EXPECT_FALSE(probe.at_once) << "the probe goes to Redis";
    EXPECT_EQ(probe.reply(), StoreReply::unavailable);
    const Nanos failed = clock_.now();
    EXPECT_EQ(stats().breaker_opens.load(), 1u) << "it did not close in between";
    EXPECT_EQ(stats().open_breakers.load(), 1);
    const std::uint64_t refusals = stats().breaker_refusals.load();
    EXPECT_EQ(send(loop(), p, 1).at_once, StoreReply::unavailable);
    EXPECT_EQ(stats().breaker_refusals.load(), refusals + 1);

    sleep_until(failed + nanos(kProbeInterval));
    const Request& next_probe = ask(loop(), p, 1);
    EXPECT_FALSE(next_probe.at_once) << "the next probe, an interval later";
    EXPECT_EQ(next_probe.reply(), StoreReply::unavailable);
}

// A connection whose peer went silent without closing it (a partition, a
// middlebox, a frozen host) must not carry the next probe: Redis, back at the
// same address, would never see it.
TEST_F(RedisStoreFaults, AProbeAfterOneThatTimedOutReachesRedisOnANewConnection) {
    boost::asio::io_context io;
    tcp::acceptor silent(io, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));  // accepts, never answers
    const std::uint16_t port = silent.local_endpoint().port();
    RedisStoreSettings s = settings();
    s.endpoint.port = port;
    s.timeout = nanos(50ms);
    s.failures_to_open = 1;
    open(s);
    const LimitParams p = quota(10, 1min, Algorithm::fixed_window);
    EXPECT_EQ(ask(loop(), p, 1).reply(), StoreReply::unavailable);
    EXPECT_EQ(stats().breaker_opens.load(), 1u);
    std::this_thread::sleep_for(kProbeInterval);
    const Request& probe = ask(loop(), p, 1);
    EXPECT_FALSE(probe.at_once);
    EXPECT_EQ(probe.reply(), StoreReply::unavailable);
    EXPECT_EQ(stats().timeouts.load(), 2u);

    // Redis comes back on that port; the connections made so far stay open, silent.
    std::vector<tcp::socket> held;
    silent.non_blocking(true);
    for (boost::system::error_code error; !error;) {
        held.emplace_back(io);
        silent.accept(held.back(), error);
    }
    silent.close();
    testing::RedisServer back({}, port);
    std::this_thread::sleep_for(kProbeInterval);
    const Request& next_probe = ask(loop(), p, 1);
    EXPECT_FALSE(next_probe.at_once);
    EXPECT_EQ(next_probe.reply(), StoreReply::admitted) << "the probe reached Redis";
    EXPECT_EQ(stats().open_breakers.load(), 0);
}

TEST_F(RedisStoreFaults, AnErrorReplyIsUnavailableAndConsumesNothing) {
    open(settings());
    const LimitParams p = quota(3, 1min, Algorithm::fixed_window);
    EXPECT_EQ(ask(loop(), p, 1).reply(), StoreReply::admitted);
    ASSERT_FALSE(is_error(*server_->call({"ACL", "SETUSER", "default", "-@scripting"})));
    const Request& r = ask(loop(), p, 1);
    EXPECT_FALSE(r.at_once);
    EXPECT_EQ(r.reply(), StoreReply::unavailable);
    EXPECT_EQ(stats().errors.load(), 1u);
    EXPECT_EQ(stats().timeouts.load(), 0u);

    ASSERT_FALSE(is_error(*server_->call({"ACL", "SETUSER", "default", "+@scripting"})));
    const Request& after = ask(loop(), p, 1);
    EXPECT_EQ(after.reply(), StoreReply::admitted);
    EXPECT_EQ(after.evaluation().remaining, 1u) << "the failed call counted nothing";
}

TEST_F(RedisStoreFaults, PingThrowsNamingTheServerWhenItIsDown) {
    open(settings());
    EXPECT_NO_THROW(store().ping());
    server_->kill(SIGKILL);
    try {
        store().ping();
        ADD_FAILURE() << "ping() returned with Redis down";
    } catch (const RedisUnreachable& e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr(describe(server_->endpoint())));
    }
}

class RedisStoreExpiry : public RedisStoreTest {};

TEST_F(RedisStoreExpiry, EveryKeyExpiresOnceItsStateIsIdle) {
    open(settings());
    const LimitParams quotas[] = {
        quota(2, 300ms, Algorithm::token_bucket),
        quota(2, 300ms, Algorithm::fixed_window),
        quota(2, 300ms, Algorithm::sliding_window),  // the longest: two windows, 600 ms
        quota(1, 300ms, Algorithm::token_bucket, 500ms),
    };
    for (std::uint64_t key = 0; key < std::size(quotas); ++key) {
        for (int i = 0; i < 3; ++i) ask(loop(), quotas[key], key);
        EXPECT_EQ(send(loop(), quotas[key], key).at_once, StoreReply::refused) << "refused, quota " << key;
    }
    const std::vector<std::string> names = keys();
    EXPECT_EQ(names.size(), std::size(quotas));
    for (const std::string& name : names) {
        const long long pttl = server_->call({"PTTL", name})->integer;
        EXPECT_NE(pttl, -1) << name << " never expires";
        EXPECT_LE(pttl, 600) << name;
    }

    const auto give_up = std::chrono::steady_clock::now() + 3s;
    while (server_->call({"DBSIZE"})->integer > 0 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(20ms);
    EXPECT_EQ(server_->call({"DBSIZE"})->integer, 0) << "keys left after 3 s";
}

class RedisFleetKey : public RedisStoreTest {};

TEST_F(RedisFleetKey, TheFirstFingerprintIsClaimedAndAnotherIsRefusedNamingBoth) {
    open(settings());
    const std::string key = std::string(kPrefix) + "fleet-key";
    EXPECT_EQ(store().claim_fleet_key("aaaa"), "");
    EXPECT_EQ(reply_text(*server_->call({"GET", key})), "aaaa");
    const long long week_ms = 7 * 24 * 3600 * 1000LL;
    EXPECT_GT(server_->call({"PTTL", key})->integer, 0);
    EXPECT_LE(server_->call({"PTTL", key})->integer, week_ms);

    ASSERT_EQ(server_->call({"PEXPIRE", key, "1000"})->integer, 1);
    EXPECT_EQ(store().claim_fleet_key("aaaa"), "") << "the same fingerprint again";
    EXPECT_GT(server_->call({"PTTL", key})->integer, 1000) << "a host's start keeps it another week";

    EXPECT_EQ(store().claim_fleet_key("bbbb"),
              "this host's fleet key (fingerprint bbbb) is not the fleet's (Redis 127.0.0.1:" +
                  std::to_string(server_->port()) + " holds fingerprint aaaa): copy the fleet's key file to this host");
    EXPECT_EQ(reply_text(*server_->call({"GET", key})), "aaaa") << "the fleet's stays";
}

}  // namespace
}  // namespace sluice
