// Redis for a thread that may wait (the admin thread, checks at start): one
// command at a time, answered or failed within a timeout. It runs a
// RedisConnection on a private io_context while it waits.
#pragma once

#include <utility>  // before Asio, which uses std::exchange without it (Boost 1.74)

#include "redis/connection.h"
#include "redis/redis_url.h"
#include "redis/reply.h"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace sluice {

// Used by one thread at a time.
class RedisBlockingClient {
public:
    // As RedisConnection's: connects on the first call, again after a failure.
    RedisBlockingClient(RedisEndpoint endpoint, std::string password, std::chrono::milliseconds connect_timeout);

    // Sends the command made of `args` (at least the command's name) and
    // returns its reply, an error reply too (-NOSCRIPT is for the caller to
    // read). Throws std::runtime_error naming the command, and the server and
    // the cause, when no reply came: the connection failed, or `timeout`
    // passed (then the connection is closed, so a late reply is never taken
    // for the next command's).
    RedisReplyPtr call(std::initializer_list<std::string_view> args, std::chrono::milliseconds timeout);
    // The same for a command already encoded (redis/command.h); `name` is
    // the command's, for the messages.
    RedisReplyPtr call_command(std::string_view name, std::string_view command, std::chrono::milliseconds timeout);

private:
    boost::asio::io_context ioc_;
    std::shared_ptr<RedisConnection> connection_;  // after ioc_: destroyed before it
    std::string command_;                          // its capacity reused
};

}  // namespace sluice
