#include "redis/connection.h"

#include "redis/command.h"
#include "tests/support/redis_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <signal.h>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace sluice {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

bool g_inside_send = false;  // a handler called inside send() or close() fails the test

// Keeps the one call a handler gets; `then` runs inside it.
class Recorder final : public RedisReplyHandler {
public:
    void on_reply(RedisReplyPtr reply) override {
        note();
        reply_ = std::move(reply);
        if (then) then();
    }
    void on_failure(std::string_view reason) override {
        note();
        failure_ = reason;
        if (then) then();
    }

    bool called() const { return calls_ > 0; }
    // What it got: a reply's text or integer, or "failure: <reason>".
    std::string got() const {
        if (!called()) return "(nothing)";
        if (!reply_) return "failure: " + failure_;
        if (reply_->type == REDIS_REPLY_INTEGER) return std::to_string(reply_->integer);
        if (reply_->type == REDIS_REPLY_NIL) return "(nil)";
        return (is_error(*reply_) ? "error: " : "") + std::string(reply_text(*reply_));
    }
    int order = -1;  // when it was called among the recorders of a test
    std::function<void()> then;
    static inline int next_order = 0;

private:
    void note() {
        EXPECT_FALSE(g_inside_send) << "a handler was called inside send() or close()";
        EXPECT_EQ(++calls_, 1) << "a handler was called twice";
        order = next_order++;
    }

    int calls_ = 0;
    RedisReplyPtr reply_;
    std::string failure_;
};

void send(RedisConnection& connection, std::initializer_list<std::string_view> args, Recorder& recorder) {
    std::string command;
    append_command(command, args);
    g_inside_send = true;
    connection.send(command, recorder);
    g_inside_send = false;
}

void close(RedisConnection& connection) {
    g_inside_send = true;
    connection.close();
    g_inside_send = false;
}

// The loop of the connections a test makes; they are released before it.
class LoopTest : public testing::RedisServerTest {
protected:
    std::shared_ptr<RedisConnection> connection(RedisEndpoint endpoint, std::string password = "",
                                                std::chrono::nanoseconds connect_timeout = 2s) {
        return RedisConnection::create(ioc, std::move(endpoint), std::move(password), connect_timeout);
    }
    // Runs the loop until `done`; false if 5 s passed first.
    bool run_until(const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            ioc.restart();
            ioc.run_one_for(10ms);
        }
        return true;
    }
    void run_for(std::chrono::milliseconds time) {
        ioc.restart();
        ioc.run_for(time);
    }

    net::io_context ioc;
};

std::string port_of(const testing::RedisServer& server) { return std::to_string(server.port()); }

using RedisConnectionTest = LoopTest;

TEST_F(RedisConnectionTest, PipelinesAThousandCommandsAndAnswersInOrder) {
    testing::RedisServer server;
    auto redis = connection(server.endpoint());
    std::vector<Recorder> recorders(1000);
    for (Recorder& recorder : recorders) send(*redis, {"INCR", "counter"}, recorder);
    EXPECT_EQ(redis->pending(), 1000u);
    ASSERT_TRUE(run_until([&] { return recorders.back().called(); }));
    for (std::size_t i = 0; i < recorders.size(); ++i) {
        EXPECT_EQ(recorders[i].got(), std::to_string(i + 1));
        EXPECT_EQ(recorders[i].order, recorders[0].order + static_cast<int>(i));
    }
    EXPECT_TRUE(redis->connected());
    EXPECT_EQ(redis->pending(), 0u);

    // Connected, commands sent while replies are on their way are answered in order too.
    std::vector<Recorder> more(1000);
    for (std::size_t i = 0; i < more.size(); ++i) {
        send(*redis, {"INCR", "counter"}, more[i]);
        if (i % 100 == 0) ioc.poll();
    }
    ASSERT_TRUE(run_until([&] { return more.back().called(); }));
    for (std::size_t i = 0; i < more.size(); ++i) EXPECT_EQ(more[i].got(), std::to_string(1001 + i));
}

TEST_F(RedisConnectionTest, AnErrorReplyIsAReplyAndTheConnectionGoesOn) {
    testing::RedisServer server;
    auto redis = connection(server.endpoint());
    Recorder missing, ping;
    send(*redis, {"EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"}, missing);
    send(*redis, {"PING"}, ping);
    ASSERT_TRUE(run_until([&] { return ping.called(); }));
    EXPECT_EQ(missing.got(), "error: NOSCRIPT No matching script. Please use EVAL.");
    EXPECT_EQ(ping.got(), "PONG");
}

TEST_F(RedisConnectionTest, LargeCommandsAndRepliesCrossManyWritesAndReads) {
    testing::RedisServer server;
    auto redis = connection(server.endpoint());
    const std::string big(4 << 20, 'x');
    Recorder set, get, after;
    send(*redis, {"SET", "big", big}, set);
    send(*redis, {"GET", "big"}, get);
    send(*redis, {"PING"}, after);
    ASSERT_TRUE(run_until([&] { return after.called(); }));
    EXPECT_EQ(set.got(), "OK");
    EXPECT_TRUE(get.got() == big) << get.got().substr(0, 100);
    EXPECT_EQ(after.got(), "PONG");
}

TEST_F(RedisConnectionTest, ResolvesAHostName) {
    testing::RedisServer server;  // on 127.0.0.1 only: where localhost is ::1 too, that address is refused first
    auto redis = connection(RedisEndpoint{"localhost", server.port(), "", 0});
    Recorder ping;
    send(*redis, {"PING"}, ping);
    ASSERT_TRUE(run_until([&] { return ping.called(); }));
    EXPECT_EQ(ping.got(), "PONG");
}

TEST_F(RedisConnectionTest, AuthenticatesWithThePasswordAndAsAnAclUser) {
    testing::RedisServer server({"--requirepass", "s3cret"});
    auto as_default = connection(server.endpoint(), "s3cret");
    Recorder set_user, default_whoami;
    send(*as_default, {"ACL", "SETUSER", "sluice", "on", ">app-pass", "~*", "+@all"}, set_user);
    send(*as_default, {"ACL", "WHOAMI"}, default_whoami);
    ASSERT_TRUE(run_until([&] { return default_whoami.called(); }));
    EXPECT_EQ(set_user.got(), "OK");
    EXPECT_EQ(default_whoami.got(), "default");

    RedisEndpoint sluice_user = server.endpoint();
    sluice_user.user = "sluice";
    auto as_sluice = connection(sluice_user, "app-pass");
    auto without = connection(server.endpoint());
    Recorder sluice_whoami, unauthenticated;
    send(*as_sluice, {"ACL", "WHOAMI"}, sluice_whoami);
    send(*without, {"PING"}, unauthenticated);
    ASSERT_TRUE(run_until([&] { return sluice_whoami.called() && unauthenticated.called(); }));
    EXPECT_EQ(sluice_whoami.got(), "sluice");
    EXPECT_EQ(unauthenticated.got(), "error: NOAUTH Authentication required.");
}

TEST_F(RedisConnectionTest, AWrongPasswordFailsEveryCommandWithTheAuthError) {
    testing::RedisServer server({"--requirepass", "s3cret"});
    auto redis = connection(server.endpoint(), "wrong");
    Recorder first, second;
    send(*redis, {"PING"}, first);
    send(*redis, {"PING"}, second);
    ASSERT_TRUE(run_until([&] { return second.called(); }));
    const std::string expected = "failure: cannot connect to 127.0.0.1:" + port_of(server) +
                                 ": AUTH failed: WRONGPASS invalid username-password pair or user is disabled.";
    EXPECT_EQ(first.got(), expected);
    EXPECT_EQ(second.got(), expected);
    EXPECT_FALSE(redis->connected());
}

TEST_F(RedisConnectionTest, SelectsTheDatabase) {
    testing::RedisServer server;
    RedisEndpoint db3 = server.endpoint();
    db3.db = 3;
    auto writer = connection(db3);
    Recorder set;
    send(*writer, {"SET", "where", "three"}, set);
    ASSERT_TRUE(run_until([&] { return set.called(); }));
    EXPECT_EQ(set.got(), "OK");

    auto in_db3 = connection(db3);
    auto in_db0 = connection(server.endpoint());
    Recorder from_db3, from_db0;
    send(*in_db3, {"GET", "where"}, from_db3);
    send(*in_db0, {"GET", "where"}, from_db0);
    ASSERT_TRUE(run_until([&] { return from_db3.called() && from_db0.called(); }));
    EXPECT_EQ(from_db3.got(), "three");
    EXPECT_EQ(from_db0.got(), "(nil)");
}

TEST_F(RedisConnectionTest, AKilledServerFailsWhatWaitsAndALaterSendReconnects) {
    testing::RedisServer server;
    auto redis = connection(server.endpoint());
    Recorder ping;
    send(*redis, {"PING"}, ping);
    ASSERT_TRUE(run_until([&] { return ping.called(); }));

    server.kill(SIGSTOP);
    std::vector<Recorder> waiting(3);
    for (Recorder& recorder : waiting) send(*redis, {"INCR", "n"}, recorder);
    run_for(50ms);  // written, never answered
    EXPECT_EQ(redis->pending(), 3u);
    server.kill(SIGKILL);
    ASSERT_TRUE(run_until([&] { return waiting.back().called(); }));
    const std::string lost = "failure: connection to 127.0.0.1:" + port_of(server) + " lost: ";
    for (const Recorder& recorder : waiting) {
        EXPECT_TRUE(recorder.got() == lost + "Connection reset by peer" || recorder.got() == lost + "End of file")
            << recorder.got();
    }
    EXPECT_FALSE(redis->connected());

    Recorder refused;
    send(*redis, {"PING"}, refused);
    ASSERT_TRUE(run_until([&] { return refused.called(); }));
    EXPECT_EQ(refused.got(), "failure: cannot connect to 127.0.0.1:" + port_of(server) + ": Connection refused");

    server.restart();
    Recorder again;
    send(*redis, {"PING"}, again);
    ASSERT_TRUE(run_until([&] { return again.called(); }));
    EXPECT_EQ(again.got(), "PONG");
}

TEST_F(RedisConnectionTest, CloseFailsWhatWaitsAfterwardsAndALaterSendReconnects) {
    testing::RedisServer server;
    auto redis = connection(server.endpoint());
    Recorder first, second;
    send(*redis, {"PING"}, first);
    send(*redis, {"PING"}, second);
    close(*redis);
    EXPECT_EQ(redis->pending(), 0u);
    ASSERT_TRUE(run_until([&] { return second.called(); }));
    const std::string closed = "failure: connection to 127.0.0.1:" + port_of(server) + " closed";
    EXPECT_EQ(first.got(), closed);
    EXPECT_EQ(second.got(), closed);

    Recorder again;
    send(*redis, {"PING"}, again);
    ASSERT_TRUE(run_until([&] { return again.called(); }));
    EXPECT_EQ(again.got(), "PONG");
}

TEST_F(RedisConnectionTest, AHandlerMayCloseAndSendFromItsCall) {
    testing::RedisServer server;
    auto redis = connection(server.endpoint());
    Recorder closes, cut, sends_again, later;
    closes.then = [&] { close(*redis); };
    sends_again.then = [&] { send(*redis, {"INCR", "n"}, later); };
    send(*redis, {"INCR", "n"}, closes);
    send(*redis, {"INCR", "n"}, cut);
    send(*redis, {"INCR", "n"}, sends_again);
    ASSERT_TRUE(run_until([&] { return later.called(); }));
    const std::string closed = "failure: connection to 127.0.0.1:" + port_of(server) + " closed";
    EXPECT_EQ(closes.got(), "1");
    EXPECT_EQ(cut.got(), closed);  // its reply may have come in the same read: it is dropped
    EXPECT_EQ(sends_again.got(), closed);
    EXPECT_EQ(later.got(), "4");  // the cut commands ran on the server all the same
    EXPECT_LT(closes.order, cut.order);
    EXPECT_LT(cut.order, sends_again.order);
}

TEST_F(RedisConnectionTest, ConnectingTimesOutWhenAuthGetsNoAnswer) {
    testing::RedisServer server({"--requirepass", "s3cret"});
    server.kill(SIGSTOP);  // the kernel still accepts the connection
    auto redis = connection(server.endpoint(), "s3cret", 200ms);
    Recorder ping;
    const auto start = std::chrono::steady_clock::now();
    send(*redis, {"PING"}, ping);
    ASSERT_TRUE(run_until([&] { return ping.called(); }));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    EXPECT_EQ(ping.got(),
              "failure: cannot connect to 127.0.0.1:" + port_of(server) + ": no answer to AUTH within 200ms");
}

// A TCP server on the test's loop that answers every read of each connection with `answer`.
class FakeRedis {
public:
    FakeRedis(net::io_context& ioc, std::string answer)
        : acceptor_(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
          answer_(std::move(answer)) {
        accept();
    }
    RedisEndpoint endpoint() const { return RedisEndpoint{"127.0.0.1", acceptor_.local_endpoint().port(), "", 0}; }
    int accepted = 0;

private:
    struct Peer {
        explicit Peer(tcp::socket s) : socket(std::move(s)) {}
        tcp::socket socket;
        std::array<char, 4096> buffer;
    };
    void accept() {
        acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
            if (ec) return;
            ++accepted;
            answer_reads(std::make_shared<Peer>(std::move(socket)));
            accept();
        });
    }
    void answer_reads(std::shared_ptr<Peer> peer) {
        peer->socket.async_read_some(
            net::buffer(peer->buffer), [this, peer](const boost::system::error_code& ec, std::size_t) {
                if (ec) return;
                net::async_write(peer->socket, net::buffer(answer_),
                                 [this, peer](const boost::system::error_code& ec, std::size_t) {
                                     if (!ec) answer_reads(peer);
                                 });
            });
    }

    tcp::acceptor acceptor_;
    std::string answer_;
};

using RedisConnectionWithoutServerTest = LoopTest;

TEST_F(RedisConnectionWithoutServerTest, ARefusedConnectionFailsEveryCommand) {
    const std::uint16_t port = testing::free_loopback_port();
    auto redis = connection(RedisEndpoint{"127.0.0.1", port, "", 0});
    Recorder first, second;
    send(*redis, {"PING"}, first);
    send(*redis, {"PING"}, second);
    ASSERT_TRUE(run_until([&] { return second.called(); }));
    const std::string refused = "failure: cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused";
    EXPECT_EQ(first.got(), refused);
    EXPECT_EQ(second.got(), refused);
    EXPECT_LT(first.order, second.order);
}

TEST_F(RedisConnectionWithoutServerTest, ACorruptReplyStreamFailsWhatWaitsAndTheNextSendReconnects) {
    FakeRedis fake(ioc, "+OK\r\n!garbage\r\n");
    auto redis = connection(fake.endpoint());
    Recorder ok, corrupt, also;
    send(*redis, {"PING"}, ok);
    send(*redis, {"PING"}, corrupt);
    send(*redis, {"PING"}, also);
    ASSERT_TRUE(run_until([&] { return also.called(); }));
    const std::string closed = "failure: connection to " + describe(fake.endpoint()) +
                               " closed: the reply stream is corrupt: Protocol error, got \"!\" as reply type byte";
    EXPECT_EQ(ok.got(), "OK");
    EXPECT_EQ(corrupt.got(), closed);
    EXPECT_EQ(also.got(), closed);

    Recorder again;
    send(*redis, {"PING"}, again);
    ASSERT_TRUE(run_until([&] { return again.called(); }));
    EXPECT_EQ(again.got(), "OK");
    EXPECT_EQ(fake.accepted, 2);
}

TEST_F(RedisConnectionWithoutServerTest, AReplyNoCommandAskedForClosesTheConnection) {
    FakeRedis fake(ioc, "+PONG\r\n+PONG\r\n");
    auto redis = connection(fake.endpoint());
    Recorder ping;
    send(*redis, {"PING"}, ping);
    ASSERT_TRUE(run_until([&] { return ping.called() && !redis->connected(); }));
    EXPECT_EQ(ping.got(), "PONG");
}

}  // namespace
}  // namespace sluice
