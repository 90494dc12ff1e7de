#include "redis/blocking_client.h"

#include "tests/support/redis_server.h"

#include <gtest/gtest.h>

#include <signal.h>

#include <functional>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace sluice {
namespace {

using RedisBlockingClientTest = testing::RedisServerTest;

std::string failure_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "(no exception)";
}

TEST_F(RedisBlockingClientTest, ReturnsTheReply) {
    testing::RedisServer server;
    RedisBlockingClient client(server.endpoint(), "", 2s);
    EXPECT_EQ(reply_text(*client.call({"SET", "k", "v"}, 2s)), "OK");
    const RedisReplyPtr reply = client.call({"GET", "k"}, 2s);
    EXPECT_EQ(reply->type, REDIS_REPLY_STRING);
    EXPECT_EQ(reply_text(*reply), "v");
}

TEST_F(RedisBlockingClientTest, AnErrorReplyIsReturnedNotThrown) {
    testing::RedisServer server;
    RedisBlockingClient client(server.endpoint(), "", 2s);
    const RedisReplyPtr reply = client.call({"EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"}, 2s);
    ASSERT_TRUE(is_error(*reply));
    EXPECT_EQ(reply_text(*reply), "NOSCRIPT No matching script. Please use EVAL.");
}

TEST_F(RedisBlockingClientTest, AStoppedServerTimesOutWithinTheTimeoutAndTheNextCallReconnects) {
    testing::RedisServer server;
    RedisBlockingClient client(server.endpoint(), "", 2s);
    EXPECT_EQ(reply_text(*client.call({"PING"}, 2s)), "PONG");

    server.kill(SIGSTOP);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(failure_of([&] {
                  client.call({"INCR", "n"}, 200ms);
              }),
              "Redis INCR to 127.0.0.1:" + std::to_string(server.port()) + " got no answer within 200ms");
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, 200ms);
    EXPECT_LT(took, 700ms);

    // The late reply to that INCR is never taken for this PING's: it comes on a new connection.
    server.kill(SIGCONT);
    EXPECT_EQ(reply_text(*client.call({"PING"}, 2s)), "PONG");
}

TEST(RedisBlockingClient, AFailureThrowsItsReason) {
    const std::uint16_t port = testing::free_loopback_port();
    RedisBlockingClient client(RedisEndpoint{"127.0.0.1", port, "", 0}, "", 2s);
    EXPECT_EQ(failure_of([&] { client.call({"PING"}, 2s); }),
              "Redis PING failed: cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

}  // namespace
}  // namespace sluice
