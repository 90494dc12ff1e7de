// sluiced's signals: SIGTERM stops it cleanly even with clients connected;
// SIGHUP reloads the config, or keeps the running one when the new is invalid.
#include "harness.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <csignal>

namespace sluice::test {
namespace {

const nlohmann::json kConfig = {{"quotas", {{{"name", "per-ip"}, {"path", ""}, {"rate", 100}, {"interval", "1m"}}}}};

TEST(Lifecycle, SigtermStopsCleanlyWithConnectionsOpen) {
    Deployment sluice(kConfig);
    HttpClient idle = sluice.client();
    ASSERT_EQ(idle.get("/v1/things").result_int(), 200);  // now an idle keep-alive connection

    // Another client stops in the middle of its request header.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket partial(ioc);
    partial.connect({boost::asio::ip::make_address("127.0.0.1"), sluice.port()});
    boost::asio::write(partial, boost::asio::buffer(std::string("GET /v1/things HTTP/1.1\r\nHost: a\r\n")));

    EXPECT_EQ(sluice.stop_sluiced(), 0);
    EXPECT_NE(sluice.sluiced().stderr_text().find("sluiced: stopping"), std::string::npos);
}

TEST(Lifecycle, SaysPlainlyThatXdpIsOffWithoutAnXdpSection) {
    Deployment sluice(kConfig);
    EXPECT_NE(sluice.sluiced().stderr_text().find(
                  "sluiced: XDP is off: the config has no \"xdp\" section; HTTP limits still apply"),
              std::string::npos)
        << sluice.sluiced().stderr_text();
    EXPECT_EQ(sluice.client().get("/v1/things").result_int(), 200);
}

TEST(Lifecycle, SighupReloadsQuotasAndKeepsCountersOfUnchangedOnes) {
    const nlohmann::json two_quotas = {
        {"quotas",
         {{{"name", "kept"}, {"path", "/kept"}, {"rate", 2}, {"interval", "1m"}},
          {{"name", "changed"}, {"path", "/changed"}, {"rate", 1}, {"interval", "1m"}}}}};
    Deployment sluice(two_quotas);
    HttpClient client = sluice.client();
    EXPECT_EQ(client.get("/kept").result_int(), 200);
    EXPECT_EQ(client.get("/changed").result_int(), 200);
    EXPECT_EQ(client.get("/changed").result_int(), 429);

    nlohmann::json next = two_quotas;
    next["quotas"][1]["rate"] = 3;
    sluice.write_config(next);
    sluice.sluiced().send_signal(SIGHUP);
    ASSERT_TRUE(sluice.sluiced().wait_for_stderr("sluiced: reloaded", std::chrono::seconds(5)));

    EXPECT_EQ(client.get("/kept").result_int(), 200);  // its second of two: the count survived
    EXPECT_EQ(client.get("/kept").result_int(), 429);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(client.get("/changed").result_int(), 200) << i;  // a new counter of 3
    EXPECT_EQ(client.get("/changed").result_int(), 429);
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

TEST(Lifecycle, InvalidQuotaFileOnReloadIsNamedAndTheOldQuotasStayEnforced) {
    const nlohmann::json with_files = {{"quota_files", {"quotas.d/*.json"}}};
    Deployment sluice(with_files);
    const auto quota_file = sluice.dir().write(
        "quotas.d/api.json", R"({"quotas": [{"name": "api", "path": "/api/*", "rate": 2, "interval": "1h"}]})");
    sluice.sluiced().send_signal(SIGHUP);
    ASSERT_TRUE(sluice.sluiced().wait_for_stderr("sluiced: reloaded", std::chrono::seconds(5)));
    HttpClient client = sluice.client();
    EXPECT_EQ(client.get("/api/a").result_int(), 200);

    sluice.dir().write("quotas.d/api.json",
                       R"({"quotas": [{"name": "api", "path": "/api/*", "rate": 0, "interval": "1h"}]})");
    sluice.sluiced().send_signal(SIGHUP);
    ASSERT_TRUE(sluice.sluiced().wait_for_stderr("sluiced: reload failed: the running configuration stays",
                                                 std::chrono::seconds(5)));
    EXPECT_NE(sluice.sluiced().stderr_text().find("sluiced: reload: " + quota_file.string() +
                                                  ": quotas[0].rate: must be greater than 0\n"),
              std::string::npos)
        << sluice.sluiced().stderr_text();
    EXPECT_EQ(client.get("/api/a").result_int(), 200);  // the second of the old two
    EXPECT_EQ(client.get("/api/a").result_int(), 429);
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

TEST(Lifecycle, ReloadSaysWhichChangesWaitForARestart) {
    Deployment sluice(kConfig);
    nlohmann::json next = kConfig;
    next["limits"] = {{"max_keys", 10}};
    sluice.write_config(next);
    sluice.sluiced().send_signal(SIGHUP);
    ASSERT_TRUE(sluice.sluiced().wait_for_stderr("sluiced: reloaded", std::chrono::seconds(5)));
    const std::string log = sluice.sluiced().stderr_text();
    EXPECT_NE(log.find("sluiced: reload: limits.max_keys changed: it takes effect when sluiced restarts\n"),
              std::string::npos)
        << log;
    EXPECT_EQ(log.find("listen changed"), std::string::npos) << log;
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

TEST(Lifecycle, InvalidConfigOnReloadIsReportedAndTheRunningOneStays) {
    Deployment sluice(kConfig);
    sluice.write_config_text(
        R"({"listen": ["127.0.0.1:1"], "upstream": "http://127.0.0.1:2", "quotas": [{"name": "x"}]})");
    sluice.sluiced().send_signal(SIGHUP);
    ASSERT_TRUE(sluice.sluiced().wait_for_stderr("sluiced: reload failed: the running configuration stays",
                                                 std::chrono::seconds(5)));
    EXPECT_NE(sluice.sluiced().stderr_text().find("sluiced: reload: "), std::string::npos);
    EXPECT_NE(sluice.sluiced().stderr_text().find("quotas[0].rate: required"), std::string::npos)
        << sluice.sluiced().stderr_text();
    EXPECT_EQ(sluice.client().get("/v1/things").result_int(), 200);
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

}  // namespace
}  // namespace sluice::test
