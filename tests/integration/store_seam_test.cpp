// The proxy waiting on a quota store that answers later (as a network store
// does) or not at all: a real ProxyServer on real sockets in front of
// demo_upstream, its stores answering from posted handlers on each event loop.
#include "harness.h"

#include "limit/limiter.h"
#include "proxy/proxy_server.h"
#include "store/fallback_store.h"
#include "store/local_store.h"

#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <atomic>

namespace sluice::test {
namespace {

namespace net = boost::asio;

// Answers on its event loop after the call returned, through a posted
// handler, as a network store's reply arrives; while `down`, unavailable.
class PostedStore final : public QuotaStoreHandle {
public:
    PostedStore(net::io_context& loop, LocalStore& state, const std::atomic<bool>& down)
        : loop_(loop),
          state_(state),
          down_(down) {}

    std::optional<StoreReply> acquire(std::span<const QuotaCheck> checks, Nanos now, std::span<CheckResult> results,
                                      StoreWaiter& waiter) override {
        net::post(loop_, [this, checks, now, results, &waiter] {
            waiter.resume(down_ ? StoreReply::unavailable : state_.acquire(checks, now, results));
        });
        return std::nullopt;
    }

private:
    net::io_context& loop_;
    LocalStore& state_;
    const std::atomic<bool>& down_;
};

class StoreSeamTest : public ::testing::Test {
protected:
    StoreSeamTest() : upstream_(start_demo_upstream(upstream_port_)) {
        Quota q;
        q.name = "per-ip";
        q.path = "/v1/*";
        q.rate = 3;
        q.interval = std::chrono::minutes(1);
        q.algorithm = Algorithm::fixed_window;
        limiter_.set_policy(std::make_shared<const Policy>(std::vector<Quota>{q}, HeaderStyle::draft));
    }

    // Serves with each event loop's store made by `make`.
    void serve(OnStoreError on_error, StoreHandleMaker make) {
        limiter_.set_on_store_error(on_error);
        ProxySettings settings;
        settings.listen = {{"127.0.0.1", port_}};
        settings.upstream = {"127.0.0.1", upstream_port_};
        settings.threads = 2;
        server_ = std::make_unique<ProxyServer>(settings, limiter_, std::move(make));
        server_->start();
    }
    StoreHandleMaker posted() {
        return [this](net::io_context& loop) { return std::make_shared<PostedStore>(loop, *local_, down_); };
    }

    std::uint16_t port_ = free_port();
    std::uint16_t upstream_port_ = free_port();
    std::unique_ptr<ChildProcess> upstream_;
    SteadyClock clock_;
    std::shared_ptr<LocalStore> local_ = std::make_shared<LocalStore>(1000);
    std::atomic<bool> down_{false};
    Limiter limiter_{std::make_shared<const Policy>(std::vector<Quota>{}, HeaderStyle::draft), *local_, clock_,
                     KeyedHasher(1, 2)};
    std::unique_ptr<ProxyServer> server_;
};

TEST_F(StoreSeamTest, AnswersThatComeLaterGiveTheSameHeadersAndRefusals) {
    serve(OnStoreError::closed, posted());
    HttpClient client(port_);
    for (const char* left : {"2", "1", "0"}) {
        const HttpResponse ok = client.get("/v1/x");
        ASSERT_EQ(ok.result_int(), 200u);
        EXPECT_EQ(header(ok, "RateLimit-Limit"), "3");
        EXPECT_EQ(header(ok, "RateLimit-Remaining"), left);
    }
    const HttpResponse refused = client.get("/v1/x");
    EXPECT_EQ(refused.result_int(), 429u);
    EXPECT_EQ(header(refused, "Retry-After"), "60");
    EXPECT_EQ(header(refused, "RateLimit-Remaining"), "0");
    EXPECT_EQ(client.get("/health").result_int(), 200u) << "no quota counts it: the store is not asked";
    EXPECT_FALSE(client.connection_closed());
    EXPECT_EQ(server_->stats().limited, 1u);
}

TEST_F(StoreSeamTest, OnErrorOpenForwardsWithoutRateLimitHeaders) {
    down_ = true;
    serve(OnStoreError::open, posted());
    HttpClient client(port_);
    for (int i = 0; i < 5; ++i) {
        const HttpResponse ok = client.get("/v1/x");
        ASSERT_EQ(ok.result_int(), 200u);
        EXPECT_EQ(header(ok, "RateLimit-Limit"), "");
    }
    const ProxyStatsSnapshot stats = server_->stats();
    EXPECT_EQ(stats.forwarded, 5u);
    EXPECT_EQ(stats.unavailable_forwarded, 5u);
    EXPECT_EQ(stats.unavailable_refused, 0u);
}

TEST_F(StoreSeamTest, OnErrorClosedRefusesWith503UntilTheStoreIsBack) {
    down_ = true;
    serve(OnStoreError::closed, posted());
    HttpClient client(port_);
    const HttpResponse refused = client.get("/v1/x");
    EXPECT_EQ(refused.result_int(), 503u);
    EXPECT_EQ(header(refused, "Retry-After"), "1");
    EXPECT_EQ(header(refused, "Content-Type"), "application/json");
    EXPECT_EQ(refused.body(),
              R"({"error":"service_unavailable","message":"The quota store is unavailable. Retry later."})");
    EXPECT_FALSE(client.connection_closed());
    down_ = false;
    const HttpResponse ok = client.get("/v1/x");
    EXPECT_EQ(ok.result_int(), 200u);
    EXPECT_EQ(header(ok, "RateLimit-Remaining"), "2") << "the refused request was never counted";
    EXPECT_EQ(server_->stats().unavailable_refused, 1u);
}

TEST_F(StoreSeamTest, OnErrorLocalCountsOnTheLocalStore) {
    down_ = true;
    const auto fallback = std::make_shared<LocalStore>(1000);
    serve(OnStoreError::closed, [this, fallback](net::io_context& loop) {
        return std::make_shared<FallbackStore>(std::make_shared<PostedStore>(loop, *local_, down_), fallback);
    });
    HttpClient client(port_);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(client.get("/v1/x").result_int(), 200u);
    EXPECT_EQ(client.get("/v1/x").result_int(), 429u);
    EXPECT_EQ(server_->stats().unavailable_refused, 0u);
    EXPECT_EQ(local_->tracked_keys(), 0u) << "the primary never counted";
}

}  // namespace
}  // namespace sluice::test
