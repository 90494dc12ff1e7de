// What reaches the upstream, and what comes back.
#include "harness.h"

#include <gtest/gtest.h>

#include <set>

namespace sluice::test {
namespace {

nlohmann::json generous_config() {
    return {{"quotas", {{{"name", "per-ip"}, {"path", ""}, {"rate", 1000}, {"interval", "1m"}}}}};
}

TEST(Forwarding, MethodTargetBodyAndEndToEndHeadersArriveHopByHopHeadersDoNot) {
    Deployment sluice(generous_config());
    HttpClient client = sluice.client();
    const HttpResponse response = client.request("POST", "/v1/echo/a%20b?x=1&y=two",
                                                 {{"X-Custom", "abc"},
                                                  {"X-Forwarded-For", "203.0.113.7"},
                                                  {"Connection", "keep-alive, X-Hop"},
                                                  {"X-Hop", "secret"},
                                                  {"Keep-Alive", "timeout=5"},
                                                  {"Proxy-Connection", "keep-alive"},
                                                  {"TE", "trailers"},
                                                  {"Trailer", "X-Checksum"},
                                                  {"Upgrade", "h2c"}},
                                                 "hello body");
    ASSERT_EQ(response.result_int(), 200);
    EXPECT_EQ(header(response, "RateLimit-Limit"), "1000");
    EXPECT_EQ(header(response, "RateLimit-Remaining"), "999");

    const auto echo = nlohmann::json::parse(response.body());
    EXPECT_EQ(echo["method"], "POST");
    EXPECT_EQ(echo["path"], "/v1/echo/a%20b?x=1&y=two");
    EXPECT_EQ(echo["body"], "hello body");
    const auto& headers = echo["headers"];
    EXPECT_EQ(headers["x-custom"], "abc");
    EXPECT_EQ(headers["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    EXPECT_EQ(headers["content-length"], "10");
    EXPECT_EQ(headers["host"], "127.0.0.1:" + std::to_string(sluice.port()));
    for (const char* hop : {"connection", "x-hop", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"}) {
        EXPECT_FALSE(headers.contains(hop)) << hop << " was forwarded";
    }
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

TEST(Forwarding, XForwardedForStartsWithThePeerWhenAbsent) {
    Deployment sluice(generous_config());
    const auto echo = nlohmann::json::parse(sluice.client("127.0.0.2").get("/").body());
    EXPECT_EQ(echo["headers"]["x-forwarded-for"], "127.0.0.2");
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

TEST(Forwarding, UpstreamStatusAndHeadResponsesPassThrough) {
    Deployment sluice(generous_config());
    HttpClient client = sluice.client();
    const HttpResponse missing = client.get("/status/404");
    EXPECT_EQ(missing.result_int(), 404);
    EXPECT_EQ(header(missing, "RateLimit-Limit"), "1000");

    const HttpResponse head = client.request("HEAD", "/v1/things");
    EXPECT_EQ(head.result_int(), 200);
    EXPECT_TRUE(head.body().empty());
    EXPECT_NE(header(head, "Content-Length"), "0");
    // The connection is still in step after a response without a body.
    EXPECT_EQ(nlohmann::json::parse(client.get("/after-head").body())["path"], "/after-head");
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

TEST(Forwarding, OneClientConnectionReusesOneUpstreamConnection) {
    Deployment sluice(generous_config());
    HttpClient client = sluice.client();
    std::set<int> upstream_connections;
    for (int i = 0; i < 50; ++i) {
        const HttpResponse response = client.get("/v1/things/" + std::to_string(i));
        ASSERT_EQ(response.result_int(), 200);
        upstream_connections.insert(nlohmann::json::parse(response.body())["connection"].get<int>());
    }
    EXPECT_EQ(upstream_connections.size(), 1u);
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

TEST(Forwarding, AStaleUpstreamConnectionIsRetriedOnAFreshOne) {
    Deployment sluice(generous_config());
    HttpClient client = sluice.client();
    ASSERT_EQ(client.get("/before").result_int(), 200);  // leaves an idle upstream connection
    sluice.restart_upstream();
    const HttpResponse after = client.get("/after");
    EXPECT_EQ(after.result_int(), 200) << after.body();
    EXPECT_EQ(nlohmann::json::parse(after.body())["path"], "/after");
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

// A POST is never replayed, so a closed idle connection must be noticed
// before the request is sent on it.
TEST(Forwarding, AnIdleConnectionTheUpstreamClosedIsNotUsedForAPost) {
    Deployment sluice(generous_config());
    HttpClient client = sluice.client();
    ASSERT_EQ(client.get("/before").result_int(), 200);
    sluice.restart_upstream();
    const HttpResponse after = client.request("POST", "/after", {}, "payload");
    EXPECT_EQ(after.result_int(), 200) << after.body();
    EXPECT_EQ(nlohmann::json::parse(after.body())["body"], "payload");
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

TEST(Forwarding, ExpectContinueIsAnsweredByTheProxyNotForwarded) {
    Deployment sluice(generous_config());
    const RawExchange exchange = raw_exchange(sluice.port(),
                                              "POST /v1/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                                              "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
    EXPECT_TRUE(exchange.closed);
    ASSERT_TRUE(exchange.received.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")) << exchange.received;
    const auto echo = nlohmann::json::parse(exchange.received.substr(exchange.received.find("\r\n\r\n{") + 4));
    EXPECT_EQ(echo["body"], "hello");
    EXPECT_FALSE(echo["headers"].contains("expect"));
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

}  // namespace
}  // namespace sluice::test

namespace sluice::test {
namespace {

nlohmann::json one_per_ip(nlohmann::json trusted_proxies) {
    return {{"trusted_proxies", std::move(trusted_proxies)},
            {"quotas",
             {{{"name", "one-per-ip"}, {"path", ""}, {"rate", 1}, {"interval", "1h"}, {"algorithm", "fixed_window"}}}}};
}

int status_from(HttpClient& client, const std::string& forwarded_for) {
    return client.request("GET", "/x", {{"X-Forwarded-For", forwarded_for}}).result_int();
}

TEST(ClientIdentity, BehindATrustedProxyEachForwardedClientHasItsOwnQuota) {
    Deployment sluice(one_per_ip({"127.0.0.0/8"}));
    HttpClient proxy = sluice.client();  // one connection, as a front proxy's
    EXPECT_EQ(status_from(proxy, "198.51.100.1"), 200);
    EXPECT_EQ(status_from(proxy, "198.51.100.2"), 200);
    EXPECT_EQ(status_from(proxy, "6.6.6.6, 198.51.100.1"), 429) << "a spoofed left entry must not help";
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

TEST(ClientIdentity, AnUntrustedPeerCannotPickItsIdentityWithXForwardedFor) {
    Deployment sluice(one_per_ip(nlohmann::json::array()));
    HttpClient client = sluice.client();
    EXPECT_EQ(status_from(client, "198.51.100.1"), 200);
    EXPECT_EQ(status_from(client, "198.51.100.2"), 429);
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

}  // namespace
}  // namespace sluice::test
