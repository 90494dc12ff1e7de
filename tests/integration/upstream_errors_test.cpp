// An upstream that is down or too slow: JSON 502/504, and the proxy goes on.
#include "harness.h"

#include <gtest/gtest.h>

#include <chrono>

namespace sluice::test {
namespace {

const nlohmann::json kQuotas = {{{"name", "per-ip"}, {"path", ""}, {"rate", 1000}, {"interval", "1m"}}};

TEST(UpstreamErrors, AnUpstreamThatIsDownGets502AndTheConnectionStays) {
    Deployment sluice(nlohmann::json{{"quotas", kQuotas}}, Deployment::Upstream::absent);
    HttpClient client = sluice.client();
    // The client learns nothing of the upstream's address; the log has it.
    const std::string expected =
        R"({"error":"bad_gateway","message":"the upstream could not be reached or gave no valid response"})";
    for (int i = 0; i < 2; ++i) {
        const HttpResponse response = client.get("/v1/things");
        EXPECT_EQ(response.result_int(), 502);
        EXPECT_EQ(header(response, "Content-Type"), "application/json");
        EXPECT_EQ(response.body(), expected);
        EXPECT_EQ(header(response, "RateLimit-Limit"), "1000");
        EXPECT_FALSE(client.connection_closed());
    }
    EXPECT_EQ(sluice.stop_sluiced(), 0);
    EXPECT_NE(sluice.sluiced().stderr_text().find("upstream 127.0.0.1:" + std::to_string(sluice.upstream_port()) +
                                                  " unavailable: Connection refused"),
              std::string::npos)
        << sluice.sluiced().stderr_text();
}

TEST(UpstreamErrors, ASlowUpstreamGets504AndTheNextRequestIsServed) {
    Deployment sluice(nlohmann::json{{"quotas", kQuotas}, {"limits", {{"upstream_timeout", "500ms"}}}});
    HttpClient client = sluice.client();
    const auto start = std::chrono::steady_clock::now();
    const HttpResponse slow = client.get("/slow?ms=3000");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
    EXPECT_EQ(slow.result_int(), 504);
    EXPECT_EQ(slow.body(), R"({"error":"gateway_timeout","message":"the upstream did not respond in time"})");

    const HttpResponse next = client.get("/v1/things");
    EXPECT_EQ(next.result_int(), 200);
    EXPECT_EQ(sluice.stop_sluiced(), 0);
    EXPECT_NE(sluice.sluiced().stderr_text().find("upstream 127.0.0.1:" + std::to_string(sluice.upstream_port()) +
                                                  " did not respond within 500ms"),
              std::string::npos)
        << sluice.sluiced().stderr_text();
}

}  // namespace
}  // namespace sluice::test
