// One connection to a Redis server, owned by one event loop (io_context):
// commands are pipelined (sent as they come, without waiting for earlier
// replies) and each reply goes to its command's handler, in order. Nothing
// in it locks; every call is made on the event loop's thread.
#pragma once

#include <utility>  // before Asio, which uses std::exchange without it (Boost 1.74)

#include "redis/handler_queue.h"
#include "redis/redis_url.h"
#include "redis/reply.h"

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// What a command's sender gets back: exactly one call per send(), on the
// connection's event loop, in the order the commands were sent, never from
// inside send() or close().
class RedisReplyHandler {
public:
    // Any reply, error replies too (-ERR, -NOSCRIPT, -MOVED). The reply is
    // the handler's to keep or drop.
    virtual void on_reply(RedisReplyPtr reply) = 0;
    // No reply will come: the connection could not be made, or was lost or
    // closed before the reply. `reason` names the server and the cause:
    // "cannot connect to 127.0.0.1:6380: Connection refused" (valid during
    // the call).
    virtual void on_failure(std::string_view reason) = 0;

protected:
    ~RedisReplyHandler() = default;
};

// Lifetimes: the connection is shared; each operation in flight holds it,
// and an open connection always has a read waiting for replies, so it stays
// open until close(), a failure, or the destruction of its io_context. A
// handler passed to send() must stay valid until it has had its call, or
// until the io_context has stopped for good: destroying an io_context
// destroys the operations in flight without calling anything. So an owner
// that lives as long as its event loop runs needs nothing more; one that
// leaves while the loop runs on calls close() and keeps its handlers until
// their failures came. The connection must not outlive its io_context:
// release every pointer to it before destroying the io_context (it releases
// those its operations hold itself).
class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
public:
    // `password` empty and no endpoint.user: no AUTH. Connecting (resolving,
    // TCP, and the replies to AUTH and SELECT) fails after `connect_timeout`.
    static std::shared_ptr<RedisConnection> create(boost::asio::io_context& ioc, RedisEndpoint endpoint,
                                                   std::string password, std::chrono::nanoseconds connect_timeout);

    // Queues `command` (one whole RESP command, redis/command.h: one reply
    // comes for it) and its handler; a write starts unless one is in
    // flight, which takes what was queued meanwhile when it ends. Without a
    // connection, starts one with AUTH and SELECT sent ahead of the
    // commands; an error reply to either fails the connection with Redis's
    // message. There is no retry: after a failure the next send() connects
    // again.
    void send(std::string_view command, RedisReplyHandler& handler);

    // Closes the connection; the handlers waiting get on_failure soon after
    // (posted), never inside close(). The next send() connects again.
    void close();

    // Connected, AUTH and SELECT answered.
    bool connected() const;
    // Handlers waiting for their call.
    std::size_t pending() const { return handlers_.size(); }
    const RedisEndpoint& endpoint() const { return endpoint_; }

private:
    using Executor = boost::asio::io_context::executor_type;
    using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;
    using Resolver = boost::asio::ip::basic_resolver<boost::asio::ip::tcp, Executor>;
    using Timer = boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                    boost::asio::wait_traits<std::chrono::steady_clock>, Executor>;
    struct ReaderFree {
        void operator()(redisReader* reader) const { redisReaderFree(reader); }
    };
    enum class State { closed, connecting, open };

    RedisConnection(boost::asio::io_context& ioc, RedisEndpoint endpoint, std::string password,
                    std::chrono::nanoseconds connect_timeout);

    void start_connect();
    void connect_next(const boost::system::error_code& last_error);
    void on_connect();
    void start_write();
    void write_rest();
    void start_read();
    void on_read(std::size_t bytes);
    bool take_setup_reply(const redisReply& reply);
    // Ends the connection and hands back the handlers that were waiting.
    RedisHandlerQueue shut();
    // For the loop's completions: shut(), then every waiting handler's on_failure.
    void fail(const std::string& reason);

    static constexpr std::size_t kReadBytes = 16 * 1024;

    boost::asio::io_context& ioc_;
    const RedisEndpoint endpoint_;
    const std::string password_;
    const std::chrono::nanoseconds connect_timeout_;
    Socket socket_;
    Resolver resolver_;
    Timer connect_timer_;
    std::unique_ptr<redisReader, ReaderFree> reader_;        // a new one for each connection
    std::vector<boost::asio::ip::tcp::endpoint> addresses_;  // to try while connecting
    std::size_t next_address_ = 0;
    State state_ = State::closed;
    // Counts the connections made: a completion of an earlier one sees it
    // changed and does nothing.
    unsigned generation_ = 0;
    bool awaiting_auth_ = false;  // the first reply answers AUTH
    bool awaiting_select_ = false;
    // Two buffers whose capacity is kept: commands queue in output_ while
    // writing_ is on the wire.
    std::string output_;
    std::string writing_;
    std::size_t written_ = 0;  // of writing_
    bool write_in_flight_ = false;
    RedisHandlerQueue handlers_;
    std::array<char, kReadBytes> read_buffer_;
};

}  // namespace sluice
