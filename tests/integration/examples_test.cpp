// The three example configs end to end: sluiced in front of demo_upstream,
// driven over real sockets.
#include "harness.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::test {
namespace {

TEST(PerIpAndToken, TheTwoHundredFirstRequestFromOneIpInAMinuteIsRefused) {
    Deployment sluice(example_config("per-ip-and-token.json"));
    HttpClient client = sluice.client();
    for (int i = 0; i < 200; ++i) {
        const HttpResponse response = client.get("/v1/things");
        ASSERT_EQ(response.result_int(), 200) << "request " << i + 1;
        ASSERT_EQ(header(response, "RateLimit-Limit"), "200");
        ASSERT_EQ(header(response, "RateLimit-Remaining"), std::to_string(199 - i));
    }
    const HttpResponse refused = client.get("/v1/things");
    EXPECT_EQ(refused.result_int(), 429);
    EXPECT_GT(std::stoi(header(refused, "Retry-After")), 0);
    EXPECT_LE(std::stoi(header(refused, "Retry-After")), 60);
    EXPECT_EQ(header(refused, "RateLimit-Remaining"), "0");
    EXPECT_EQ(header(refused, "Content-Type"), "application/json");
    EXPECT_EQ(refused.body(), R"({"message":"Rate limit exceeded"})");
    EXPECT_FALSE(client.connection_closed());

    EXPECT_EQ(sluice.client("127.0.0.2").get("/v1/things").result_int(), 200);
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

TEST(PerIpAndToken, TheEleventhExchangeWithOneTokenIsRefusedWhileAnotherTokenPasses) {
    Deployment sluice(example_config("per-ip-and-token.json"));
    HttpClient client = sluice.client();
    const Headers token_a{{"Authorization", "Bearer A"}};
    for (int i = 0; i < 10; ++i) {
        const HttpResponse response = client.request("POST", "/v1/auth/exchange", token_a, "{}");
        ASSERT_EQ(response.result_int(), 200) << "exchange " << i + 1;
        ASSERT_EQ(header(response, "RateLimit-Limit"), "10");  // the token quota has fewer left
        ASSERT_EQ(header(response, "RateLimit-Remaining"), std::to_string(9 - i));
    }
    const HttpResponse refused = client.request("POST", "/v1/auth/exchange", token_a, "{}");
    EXPECT_EQ(refused.result_int(), 429);
    EXPECT_GT(std::stoi(header(refused, "Retry-After")), 0);
    EXPECT_EQ(refused.body(), R"({"message":"Rate limit exceeded"})");

    EXPECT_EQ(client.request("POST", "/v1/auth/exchange", {{"Authorization", "Bearer B"}}, "{}").result_int(), 200);
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

TEST(PerEndpointApiKey, TheEleventhScanOfOneKeyIsRefusedWhileItsOtherEndpointsPass) {
    Deployment sluice(example_config("per-endpoint-api-key.json"));
    HttpClient client = sluice.client();
    const Headers k1{{"X-API-Key", "k1"}};
    for (int i = 0; i < 10; ++i) {
        const HttpResponse response = client.request("POST", "/api/v1/scans", k1, R"({"target":"x"})");
        ASSERT_EQ(response.result_int(), 200) << "scan " << i + 1;
        ASSERT_EQ(header(response, "X-RateLimit-Limit"), "10");
        ASSERT_EQ(header(response, "X-RateLimit-Remaining"), std::to_string(9 - i));
        ASSERT_EQ(header(response, "X-RateLimit-Window"), "60");
    }
    const HttpResponse refused = client.request("POST", "/api/v1/scans", k1, R"({"target":"x"})");
    EXPECT_EQ(refused.result_int(), 429);
    EXPECT_GT(std::stoi(header(refused, "Retry-After")), 0);
    EXPECT_EQ(
        refused.body(),
        R"({"error":"rate_limit_exceeded","message":"Too many requests. Rate limit exceeded.","quota":"scans-create"})");

    const HttpResponse list = client.get("/api/v1/scans", k1);
    EXPECT_EQ(list.result_int(), 200);
    EXPECT_EQ(header(list, "X-RateLimit-Limit"), "100");
    const HttpResponse one = client.get("/api/v1/scans/123", k1);
    EXPECT_EQ(one.result_int(), 200);
    EXPECT_EQ(header(one, "X-RateLimit-Limit"), "200");
    EXPECT_EQ(client.request("POST", "/api/v1/scans", {{"X-API-Key", "k2"}}, "{}").result_int(), 200);
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

TEST(VaultStyle, TheMostSpecificQuotaWinsAndBlockIntervalKeepsRefusing) {
    Deployment sluice(example_config("vault-style.json"));
    HttpClient client = sluice.client();

    const HttpResponse elsewhere = client.get("/v1/sys/health");
    EXPECT_EQ(elsewhere.result_int(), 200);
    EXPECT_EQ(header(elsewhere, "RateLimit-Limit"), "897");  // global-rate: 897.3 per 2m
    EXPECT_EQ(header(elsewhere, "RateLimit-Remaining"), "896");

    for (int i = 0; i < 50; ++i) {
        const HttpResponse response = client.get("/v1/secret/data/app");
        ASSERT_EQ(response.result_int(), 200) << "read " << i + 1;
        ASSERT_EQ(header(response, "RateLimit-Limit"), "50");
        ASSERT_EQ(header(response, "RateLimit-Remaining"), std::to_string(49 - i));
    }
    // The window would end within 60 s; the 2m block outlasts it.
    for (int i = 0; i < 2; ++i) {
        const HttpResponse refused = client.get("/v1/secret/data/app");
        EXPECT_EQ(refused.result_int(), 429);
        EXPECT_GE(std::stoi(header(refused, "Retry-After")), 119);
        EXPECT_LE(std::stoi(header(refused, "Retry-After")), 120);
    }

    // The secret reads counted against their own quota only.
    const HttpResponse after = client.get("/v1/sys/health");
    EXPECT_EQ(after.result_int(), 200);
    EXPECT_EQ(header(after, "RateLimit-Limit"), "897");
    EXPECT_EQ(header(after, "RateLimit-Remaining"), "895");
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

TEST(DryRun, ADryRunQuotaNeverRefusesButReportsNothingLeft) {
    const nlohmann::json config = {
        {"quotas", {{{"name", "trial"}, {"path", "/v1/*"}, {"rate", 3}, {"interval", "1m"}, {"mode", "dry_run"}}}}};
    Deployment sluice(config);
    HttpClient client = sluice.client();
    for (int i = 0; i < 10; ++i) {
        const HttpResponse response = client.get("/v1/things");
        ASSERT_EQ(response.result_int(), 200) << "request " << i + 1;
        EXPECT_EQ(header(response, "RateLimit-Limit"), "3");
        EXPECT_EQ(header(response, "RateLimit-Remaining"), std::to_string(std::max(0, 2 - i))) << "request " << i + 1;
    }
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

}  // namespace
}  // namespace sluice::test
