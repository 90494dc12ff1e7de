#include "store/redis_store.h"

#include "redis/cluster_slots.h"
#include "redis/command.h"
#include "store/redis_handle.h"

#include <hiredis/hiredis.h>

#include <stdexcept>

namespace sluice {
namespace {

// The admin thread's calls may wait longer than a request's: nothing queues
// behind them, and a usage query that fails is worse than a slow one.
constexpr int kQueryTimeoutFactor = 20;
constexpr Nanos kMinQueryTimeout = 100'000'000;
constexpr int kMaxRedirects = 5;

// The fleet key's fingerprint stays in Redis this long after the last start
// of a host, like every other key it is not kept forever.
constexpr std::string_view kFleetKeyLifetimeMs = "604800000";  // 7 days

std::string days(Nanos n) { return std::to_string(n / (86'400LL * 1'000'000'000)); }

}  // namespace

std::string redis_span_error(const LimitParams& p) {
    const Nanos longest = std::max({p.interval, p.block, p.capacity, p.emission});
    if (longest <= kRedisMaxSpan) return {};
    return "spans more than " + days(kRedisMaxSpan) +
           " days (interval, block_interval or the time to refill the burst), more than the Redis store counts "
           "exactly";
}

std::string describe(const RedisStoreSettings& settings) {
    if (settings.cluster.empty()) return "Redis " + describe(settings.endpoint);
    std::string seeds;
    for (const RedisEndpoint& seed : settings.cluster) seeds += (seeds.empty() ? "" : ", ") + describe(seed);
    return "Redis Cluster (" + seeds + ")";
}

RedisStore::RedisStore(RedisStoreSettings settings, const Clock& clock)
    : settings_(std::move(settings)),
      clock_(clock) {}

RedisStore::~RedisStore() = default;

std::shared_ptr<RedisHandle> RedisStore::handle_for(boost::asio::io_context& io) {
    auto handle = std::make_shared<RedisHandle>(io, settings_, stats_, clock_);
    std::lock_guard lock(handles_mutex_);
    std::erase_if(handles_, [](const LoopHandle& h) { return h.handle.expired(); });
    handles_.push_back({&io, handle});
    return handle;
}

RedisBlockingClient& RedisStore::client(const RedisEndpoint& node) const {
    std::unique_ptr<RedisBlockingClient>& client = clients_[{node.host, node.port}];
    if (!client)
        client = std::make_unique<RedisBlockingClient>(node, settings_.password, std::chrono::milliseconds(query_ms()));
    return *client;
}

std::int64_t RedisStore::query_ms() const {
    return std::max(settings_.timeout * kQueryTimeoutFactor, kMinQueryTimeout) / 1'000'000;
}

RedisReplyPtr RedisStore::call(std::string_view name, std::string_view command) const {
    const std::chrono::milliseconds timeout(query_ms());
    std::lock_guard lock(mutex_);
    // One Redis, or the cluster's seeds in turn; a redirect names the node to ask.
    const std::vector<RedisEndpoint> seeds =
        settings_.cluster.empty() ? std::vector<RedisEndpoint>{settings_.endpoint} : settings_.cluster;
    std::string unreachable;
    for (const RedisEndpoint& seed : seeds) {
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
            if (redirect && redirects < kMaxRedirects) {
                if (!redirect->host.empty()) node.host = redirect->host;
                node.port = redirect->port;
                if (redirect->kind == Redirect::Kind::ask) client(node).call({"ASKING"}, timeout);
                continue;
            }
            if (is_error(*reply) && !is_noscript(*reply))
                throw std::runtime_error(describe(node) + ": " + std::string(reply_text(*reply)));
            return reply;
        }
    }
    throw RedisUnreachable(unreachable);
}

void RedisStore::ping() const {
    std::string command;
    append_command(command, {"PING"});
    call("PING", command);
}

std::string RedisStore::claim_fleet_key(std::string_view fingerprint) const {
    const std::string key = settings_.key_prefix + "fleet-key";
    std::string command;
    append_command(command, {"SET", key, fingerprint, "NX", "GET", "PX", kFleetKeyLifetimeMs});
    const RedisReplyPtr held = call("SET", command);
    if (held->type == REDIS_REPLY_STRING && reply_text(*held) != fingerprint)
        return "this host's fleet key (fingerprint " + std::string(fingerprint) + ") is not the fleet's (" +
               describe(settings_) + " holds fingerprint " + std::string(reply_text(*held)) +
               "): copy the fleet's key file to this host";
    command.clear();
    append_command(command, {"PEXPIRE", key, kFleetKeyLifetimeMs});
    call("PEXPIRE", command);
    return {};
}

LimitState RedisStore::peek(std::uint64_t key, std::uint64_t identity) const {
    const Nanos now = clock_.now();
    std::string command;
    append_peek_call(command, ScriptBy::digest, settings_.key_prefix, settings_.clock, key, identity, now);
    RedisReplyPtr reply = call("EVALSHA", command);
    if (is_noscript(*reply)) {
        command.clear();
        append_peek_call(command, ScriptBy::text, settings_.key_prefix, settings_.clock, key, identity, now);
        reply = call("EVAL", command);
    }
    Checked<LimitState> state = read_peek_reply(*reply, now);
    if (!state.ok()) throw std::runtime_error(describe(settings_) + ": " + state.error());
    return state.value();
}

void RedisStore::forget(std::uint64_t key, std::uint64_t identity) {
    std::string command;
    append_array_header(command, 2);
    append_bulk_string(command, "DEL");
    append_state_key(command, settings_.key_prefix, identity, key);
    call("DEL", command);
    // Each loop's refusal cache would refuse the key until its old retry time.
    std::lock_guard lock(handles_mutex_);
    // Locked on its own loop only: the last reference must not drop here.
    std::erase_if(handles_, [](const LoopHandle& h) { return h.handle.expired(); });
    for (const LoopHandle& loop : handles_) {
        boost::asio::post(*loop.io, [handle = loop.handle, key] {
            if (std::shared_ptr<RedisHandle> alive = handle.lock()) alive->forget(key);
        });
    }
}

}  // namespace sluice
