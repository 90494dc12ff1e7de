// sluiced's signals: SIGTERM stops it cleanly even with clients connected;
// SIGHUP is acknowledged and serving goes on.
#include "harness.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <csignal>

namespace sluice::test {
namespace {

const nlohmann::json config = {{"quotas", {{{"name", "per-ip"}, {"path", ""}, {"rate", 100}, {"interval", "1m"}}}}};

TEST(Lifecycle, SigtermStopsCleanlyWithConnectionsOpen) {
    Deployment sluice(config);
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
    Deployment sluice(config);
    EXPECT_NE(sluice.sluiced().stderr_text().find(
                  "sluiced: XDP is off: the config has no \"xdp\" section; HTTP limits still apply"),
              std::string::npos)
        << sluice.sluiced().stderr_text();
    EXPECT_EQ(sluice.client().get("/v1/things").result_int(), 200);
}

TEST(Lifecycle, SighupIsAcknowledgedAndServingGoesOn) {
    Deployment sluice(config);
    sluice.sluiced().send_signal(SIGHUP);
    EXPECT_TRUE(sluice.sluiced().wait_for_stderr("sluiced: SIGHUP: reload is not implemented yet",
                                                 std::chrono::seconds(5)));
    EXPECT_EQ(sluice.client().get("/v1/things").result_int(), 200);
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

}  // namespace
}  // namespace sluice::test
