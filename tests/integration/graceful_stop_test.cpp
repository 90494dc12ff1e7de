// SIGTERM lets the requests in flight finish (within limits.drain_timeout):
// the listeners close at once, idle keep-alive connections too, and the
// answers still being made say Connection: close.
#include "harness.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <csignal>
#include <future>
#include <thread>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kListenersClosed = "sluiced: stopping: listeners closed";

// sluiced with a request to /slow?ms=<upstream_ms> in flight, and a
// keep-alive connection idle beside it.
class StopWithRequestInFlight {
public:
    StopWithRequestInFlight(const std::string& drain_timeout, int upstream_ms)
        : sluice(nlohmann::json{{"limits", {{"drain_timeout", drain_timeout}}}}),
          idle(sluice.client()),
          slow(sluice.client()) {
        EXPECT_EQ(idle.get("/v1/things").result_int(), 200);
        answer = std::async(std::launch::async,
                            [this, upstream_ms] { return slow.get("/slow?ms=" + std::to_string(upstream_ms)); });
        std::this_thread::sleep_for(300ms);  // the request is with the upstream now
        sigterm_sent = Clock::now();
        sluice.sluiced().send_signal(SIGTERM);
    }

    Deployment sluice;
    HttpClient idle;
    HttpClient slow;
    std::future<HttpResponse> answer;
    Clock::time_point sigterm_sent;
};

TEST(GracefulStop, RequestInFlightGetsItsWholeAnswerWhileNewConnectionsAreRefused) {
    StopWithRequestInFlight stop("5s", 1500);
    ASSERT_TRUE(stop.sluice.sluiced().wait_for_stderr(kListenersClosed, 2s)) << stop.sluice.sluiced().stderr_text();
    EXPECT_TRUE(connection_refused(stop.sluice.port()));
    EXPECT_EQ(stop.answer.wait_for(0s), std::future_status::timeout);  // still in flight

    const HttpResponse response = stop.answer.get();
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_NE(response.body().find(R"("path":"/slow?ms=1500")"), std::string::npos) << response.body();
    EXPECT_EQ(header(response, "Connection"), "close");
    EXPECT_TRUE(stop.slow.connection_closed());

    EXPECT_EQ(stop.sluice.sluiced().wait_exit(5s), 0);
    // Neither the idle connection nor the drain timeout held the exit back.
    EXPECT_LT(Clock::now() - stop.sigterm_sent, 3s);
    const std::string log = stop.sluice.sluiced().stderr_text();
    EXPECT_NE(log.find(kListenersClosed + "; waiting up to 5000 ms for the requests in flight\n"), std::string::npos)
        << log;
    EXPECT_EQ(log.find("drain_timeout passed"), std::string::npos) << log;
}

TEST(GracefulStop, ARequestOnAConnectionAcceptedBeforeTheStopIsAnsweredAsTheLast) {
    Deployment sluice(nlohmann::json::object());
    namespace net = boost::asio;
    net::io_context ioc;
    net::ip::tcp::socket early(ioc);
    early.connect({net::ip::make_address("127.0.0.1"), sluice.port()});
    std::this_thread::sleep_for(100ms);  // accepted
    sluice.sluiced().send_signal(SIGTERM);
    ASSERT_TRUE(sluice.sluiced().wait_for_stderr(kListenersClosed, 2s)) << sluice.sluiced().stderr_text();

    net::write(early, net::buffer(std::string("GET /v1/things HTTP/1.1\r\nHost: a\r\n\r\n")));
    std::string received;
    boost::system::error_code ec;
    net::read(early, net::dynamic_buffer(received), ec);
    EXPECT_EQ(ec, net::error::eof);  // closed after the answer
    EXPECT_TRUE(received.starts_with("HTTP/1.1 200 OK\r\n")) << received;
    EXPECT_NE(received.find("\r\nConnection: close\r\n"), std::string::npos) << received;
    EXPECT_EQ(sluice.sluiced().wait_exit(5s), 0);
}

TEST(GracefulStop, RequestOutlastingTheDrainTimeoutIsCut) {
    StopWithRequestInFlight stop("1s", 10'000);
    EXPECT_EQ(stop.sluice.sluiced().wait_exit(5s), 0);
    const auto stopped_after = Clock::now() - stop.sigterm_sent;
    EXPECT_GE(stopped_after, 1s);
    EXPECT_LT(stopped_after, 1500ms);
    EXPECT_THROW(stop.answer.get(), boost::system::system_error);
    EXPECT_NE(stop.sluice.sluiced().stderr_text().find(
                  "sluiced: stopping: limits.drain_timeout passed with 1 connections open; closing them\n"),
              std::string::npos)
        << stop.sluice.sluiced().stderr_text();
}

}  // namespace
}  // namespace sluice::test
