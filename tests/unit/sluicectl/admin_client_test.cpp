// The admin client against sockets of the test's own: exact messages when
// nothing listens and when the server never answers.
#include "sluicectl/admin_client.h"
#include "tests/unit/sluicectl/failure_check.h"

#include <boost/asio/ip/tcp.hpp>

#include <gtest/gtest.h>

namespace sluice::ctl {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

TEST(SluicectlAdminClient, NothingListeningIsExit3WithAHint) {
    net::io_context ioc;
    std::uint16_t port = 0;
    {
        tcp::acceptor probe(ioc, {net::ip::make_address("127.0.0.1"), 0});
        port = probe.local_endpoint().port();
    }  // closed: nothing listens there now
    AdminClient client({{"127.0.0.1", port}, "t", {}});
    const Failure failure = failure_of([&] { client.request("GET", "/v1/sys/blocks"); });
    EXPECT_EQ(failure.code(), ExitCode::unreachable);
    EXPECT_EQ(std::string(failure.what()), "cannot connect to 127.0.0.1:" + std::to_string(port) +
                                               ": Connection refused (is sluiced running with an admin section?)");
}

TEST(SluicectlAdminClient, AServerThatNeverAnswersTimesOut) {
    net::io_context ioc;
    tcp::acceptor silent(ioc, {net::ip::make_address("127.0.0.1"), 0});  // the kernel accepts; nobody answers
    const std::uint16_t port = silent.local_endpoint().port();
    AdminClient client({{"127.0.0.1", port}, "t", {}}, std::chrono::seconds(1));
    const auto started = std::chrono::steady_clock::now();
    const Failure failure = failure_of([&] { client.request("GET", "/metrics"); });
    EXPECT_EQ(failure.code(), ExitCode::unreachable);
    EXPECT_EQ(std::string(failure.what()), "no answer from 127.0.0.1:" + std::to_string(port) + ": timed out after 1s");
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
}

TEST(SluicectlAdminClient, PercentEncodingKeepsUnreservedCharactersAndColons) {
    EXPECT_EQ(percent_encode("per-ip_1.x~"), "per-ip_1.x~");
    EXPECT_EQ(percent_encode("2001:db8::1"), "2001:db8::1");
    EXPECT_EQ(percent_encode("a b&c=d/e?f+g%"), "a%20b%26c%3Dd%2Fe%3Ff%2Bg%25");
    EXPECT_EQ(percent_encode("ü"), "%C3%BC");
}

}  // namespace
}  // namespace sluice::ctl
