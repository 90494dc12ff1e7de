#include "redis/blocking_router.h"

#include "redis/cluster_slots.h"
#include "redis/command.h"

namespace sluice {
namespace {

constexpr int kMaxRedirects = 5;

std::string eval_command(std::string_view verb, std::string_view script, const std::vector<std::string>& keys,
                         const std::vector<std::string>& args) {
    std::string command;
    append_array_header(command, 3 + keys.size() + args.size());
    append_bulk_string(command, verb);
    append_bulk_string(command, script);
    append_bulk_string(command, std::to_string(keys.size()));
    for (const std::string& key : keys) append_bulk_string(command, key);
    for (const std::string& arg : args) append_bulk_string(command, arg);
    return command;
}

}  // namespace

RedisBlockingRouter::RedisBlockingRouter(std::vector<RedisEndpoint> seeds, std::string password,
                                         std::chrono::milliseconds connect_timeout)
    : seeds_(std::move(seeds)),
      password_(std::move(password)),
      connect_timeout_(connect_timeout) {}

RedisBlockingClient& RedisBlockingRouter::client(const RedisEndpoint& node) {
    std::unique_ptr<RedisBlockingClient>& client = clients_[{node.host, node.port}];
    if (!client) client = std::make_unique<RedisBlockingClient>(node, password_, connect_timeout_);
    return *client;
}

RoutedReply RedisBlockingRouter::call(std::string_view name, std::string_view command,
                                      std::chrono::milliseconds timeout) {
    const std::lock_guard lock(mutex_);
    std::string unreachable;
    for (const RedisEndpoint& seed : seeds_) {
        RedisEndpoint node = seed;
        for (int redirects = 0;; ++redirects) {
            RedisReplyPtr reply;
            try {
                reply = client(node).call_command(name, command, timeout);
            } catch (const std::runtime_error& e) {
                unreachable = e.what();
                break;
            }
            const std::optional<Redirect> redirect =
                is_error(*reply) ? parse_redirect(reply_text(*reply)) : std::nullopt;
            if (!redirect || redirects >= kMaxRedirects) return {std::move(reply), node};
            if (!redirect->host.empty()) node.host = redirect->host;
            node.port = redirect->port;
            if (redirect->kind == Redirect::Kind::ask) client(node).call({"ASKING"}, timeout);
        }
    }
    throw RedisNoAnswer(unreachable);
}

RoutedReply RedisBlockingRouter::eval(const RedisScript& script, const std::vector<std::string>& keys,
                                      const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    RoutedReply routed = call("EVALSHA", eval_command("EVALSHA", script.digest(), keys, args), timeout);
    if (!is_noscript(*routed.reply)) return routed;  // Redis restarted, or its scripts were flushed
    return call("EVAL", eval_command("EVAL", script.text(), keys, args), timeout);
}

}  // namespace sluice
