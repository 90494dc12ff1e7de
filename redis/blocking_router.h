// Redis for threads that may wait (the admin thread, the fleet sync), over
// one Redis or a Redis Cluster: one command at a time, following the
// cluster's MOVED and ASK redirects, with a blocking client per node.
#pragma once

#include "redis/blocking_client.h"
#include "redis/redis_url.h"
#include "redis/reply.h"
#include "redis/script.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

// No node answered: its message names the last one tried and the cause.
struct RedisNoAnswer : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct RoutedReply {
    RedisReplyPtr reply;  // error replies too, but redirects
    RedisEndpoint node;   // the node that answered
};

// Thread-safe: calls from several threads take turns.
class RedisBlockingRouter {
public:
    // `seeds`: the one Redis, or a Redis Cluster's seed nodes, tried in turn.
    RedisBlockingRouter(std::vector<RedisEndpoint> seeds, std::string password,
                        std::chrono::milliseconds connect_timeout);

    // Sends the command already encoded (redis/command.h); `name` is the
    // command's, for messages. Throws RedisNoAnswer.
    RoutedReply call(std::string_view name, std::string_view command, std::chrono::milliseconds timeout);

    // EVALSHA of `script` with `keys` and `args`, or EVAL when Redis does not
    // hold the script yet. Throws RedisNoAnswer.
    RoutedReply eval(const RedisScript& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args, std::chrono::milliseconds timeout);

private:
    RedisBlockingClient& client(const RedisEndpoint& node);  // under mutex_

    const std::vector<RedisEndpoint> seeds_;
    const std::string password_;
    const std::chrono::milliseconds connect_timeout_;
    std::mutex mutex_;
    std::map<std::pair<std::string, std::uint16_t>, std::unique_ptr<RedisBlockingClient>> clients_;
};

}  // namespace sluice
