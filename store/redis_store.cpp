#include "store/redis_store.h"

#include "redis/cluster_slots.h"
#include "redis/command.h"
#include "store/redis_handle.h"

#include <hiredis/hiredis.h>

#include <stdexcept>

namespace sluice {
namespace {

// A usage query that fails is worse than a slow one.
constexpr int kQueryTimeoutFactor = 20;
constexpr Nanos kMinQueryTimeout = 100'000'000;

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

std::vector<RedisEndpoint> seeds(const RedisStoreSettings& settings) {
    return settings.cluster.empty() ? std::vector<RedisEndpoint>{settings.endpoint} : settings.cluster;
}

std::chrono::milliseconds query_timeout(const RedisStoreSettings& settings) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::nanoseconds(std::max(settings.timeout * kQueryTimeoutFactor, kMinQueryTimeout)));
}

RedisStore::RedisStore(RedisStoreSettings settings, const Clock& clock)
    : settings_(std::move(settings)),
      clock_(clock),
      router_(seeds(settings_), settings_.password, query_timeout(settings_)) {}

RedisStore::~RedisStore() = default;

std::shared_ptr<RedisHandle> RedisStore::handle_for(boost::asio::io_context& io) {
    auto handle = std::make_shared<RedisHandle>(io, settings_, stats_, clock_);
    std::lock_guard lock(handles_mutex_);
    std::erase_if(handles_, [](const LoopHandle& h) { return h.handle.expired(); });
    handles_.push_back({&io, handle});
    return handle;
}

RedisReplyPtr RedisStore::call(std::string_view name, std::string_view command) const {
    try {
        RoutedReply routed = router_.call(name, command, query_timeout(settings_));
        if (is_error(*routed.reply) && !is_noscript(*routed.reply))
            throw std::runtime_error(describe(routed.node) + ": " + std::string(reply_text(*routed.reply)));
        return std::move(routed.reply);
    } catch (const RedisNoAnswer& e) {
        throw RedisUnreachable(e.what());
    }
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
