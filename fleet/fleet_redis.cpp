#include "fleet/fleet_redis.h"

#include "fleet/fleet_script_text.h"  // generated from fleet_script.lua
#include "fleet/fleet_status.h"
#include "redis/command.h"

#include <algorithm>
#include <charconv>

namespace sluice {
namespace {

const RedisScript& fleet_script() {
    static const RedisScript script(kFleetScriptText);
    return script;
}

// The script's keys, in its KEYS order.
constexpr std::string_view kKeyNames[] = {"blocks", "block-expiries", "quotas",         "settings", "events",
                                          "seq",    "nodes",          "node-heartbeats"};
constexpr std::size_t kEventsKey = 4;
constexpr std::chrono::milliseconds kBlockedReadMargin{300};

[[noreturn]] void unexpected(std::string_view what) {
    throw FleetReplyError("the fleet script's reply is not what it sends: " + std::string(what));
}

const redisReply& element(const redisReply& array, std::size_t i) {
    if (array.type != REDIS_REPLY_ARRAY || i >= array.elements) unexpected("too few values");
    return *array.element[i];
}

std::string text(const redisReply& r) {
    if (r.type != REDIS_REPLY_STRING && r.type != REDIS_REPLY_STATUS) unexpected("a value is not text");
    return std::string(reply_text(r));
}

std::int64_t number(std::string_view digits) {
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (error != std::errc() || end != digits.data() + digits.size() || value < 0)
        unexpected("\"" + std::string(digits) + "\" is not a number");
    return value;
}

std::uint64_t count(const redisReply& r) {
    if (r.type == REDIS_REPLY_INTEGER && r.integer >= 0) return static_cast<std::uint64_t>(r.integer);
    unexpected("a value is not a count");
}

// The pairs of a flat [field, value, ...] array (HGETALL).
template <typename Each>
void for_each_pair(const redisReply& array, Each each) {
    if (array.type != REDIS_REPLY_ARRAY || array.elements % 2 != 0) unexpected("not field/value pairs");
    for (std::size_t i = 0; i < array.elements; i += 2) each(text(*array.element[i]), text(*array.element[i + 1]));
}

// "<expiry unix ns> <origin>", as the blocks hash holds it.
FleetBlock parse_block(std::string client, std::string_view held) {
    const std::size_t space = held.find(' ');
    if (space == std::string_view::npos) unexpected("block \"" + std::string(held) + "\"");
    return {std::move(client), number(held.substr(0, space)), std::string(held.substr(space + 1))};
}

// A stream entry: [id, [field, value, ...]].
FleetEvent parse_event(const redisReply& entry) {
    FleetEvent event;
    event.stream_id = text(element(entry, 0));
    std::map<std::string, std::string> fields;
    for_each_pair(element(entry, 1),
                  [&](std::string field, std::string value) { fields.emplace(std::move(field), std::move(value)); });
    const auto field = [&](const char* name) -> const std::string& {
        const auto it = fields.find(name);
        if (it == fields.end()) unexpected("change " + event.stream_id + " has no " + name);
        return it->second;
    };
    event.seq = static_cast<std::uint64_t>(number(field("seq")));
    const std::string& op = field("op");
    if (op == "block") {
        event.kind = FleetEvent::Kind::block;
        event.block = {field("client"), number(field("expiry")), field("origin")};
    } else if (op == "unblock") {
        event.kind = FleetEvent::Kind::unblock;
        event.block.client = field("client");
    } else if (op == "quota") {
        event.kind = FleetEvent::Kind::quota;
        event.name = field("name");
        event.json = field("json");
    } else if (op == "settings") {
        event.kind = FleetEvent::Kind::settings;
        event.json = field("json");
    } else if (op == "reset") {
        event.kind = FleetEvent::Kind::reset;
    } else {
        unexpected("change " + event.stream_id + " is \"" + op + "\"");
    }
    return event;
}

std::vector<std::string> script_keys(const std::string& prefix) {
    std::vector<std::string> keys;
    for (std::string_view name : kKeyNames) keys.push_back(fleet_key(prefix, name));
    return keys;
}

std::string milliseconds(std::chrono::milliseconds ms) { return std::to_string(ms.count()); }

}  // namespace

std::string fleet_key(const std::string& prefix, std::string_view name) {
    return prefix + "{fleet}" + std::string(name);
}

FleetRedis::FleetRedis(const RedisStoreSettings& settings)
    : timeout_(query_timeout(settings)),
      keys_(script_keys(settings.key_prefix)),
      router_(seeds(settings), settings.password, query_timeout(settings)) {}

RedisReplyPtr FleetRedis::eval(const std::vector<std::string>& args) {
    RoutedReply routed = router_.eval(fleet_script(), keys_, args, timeout_);
    if (is_error(*routed.reply)) throw std::runtime_error(std::string(reply_text(*routed.reply)));
    return std::move(routed.reply);
}

std::uint64_t FleetRedis::block(const FleetBlock& b) {
    return count(
        *eval({"block", std::to_string(kFleetStreamLength), b.client, std::to_string(b.expiry_unix_ns), b.origin}));
}

std::uint64_t FleetRedis::unblock(const std::string& client) {
    return count(*eval({"unblock", std::to_string(kFleetStreamLength), client}));
}

std::uint64_t FleetRedis::put_quota(const std::string& name, const std::string& json, const std::string& writer) {
    return count(
        *eval({"quota", std::to_string(kFleetStreamLength), name, json, writer, milliseconds(kFleetNodeLifetime)}));
}

std::uint64_t FleetRedis::set_settings(const std::string& json) {
    return count(*eval({"settings", std::to_string(kFleetStreamLength), json}));
}

bool FleetRedis::seed(const std::string& settings, const std::map<std::string, std::string>& quotas,
                      const std::vector<FleetBlock>& blocks) {
    std::vector<std::string> args{"seed", std::to_string(kFleetStreamLength), settings, std::to_string(quotas.size())};
    for (const auto& [name, json] : quotas) args.insert(args.end(), {name, json});
    for (const FleetBlock& b : blocks) args.insert(args.end(), {b.client, std::to_string(b.expiry_unix_ns), b.origin});
    return count(*eval(args)) != 0;
}

FleetSnapshot FleetRedis::snapshot() {
    const RedisReplyPtr reply = eval({"snapshot", std::to_string(kFleetStreamLength)});
    FleetSnapshot snapshot;
    snapshot.seq = count(element(*reply, 0));
    snapshot.stream_id = text(element(*reply, 1));
    for_each_pair(element(*reply, 2), [&](std::string client, std::string held) {
        snapshot.blocks.push_back(parse_block(std::move(client), held));
    });
    for_each_pair(element(*reply, 3), [&](std::string name, std::string json) {
        snapshot.quotas.emplace(std::move(name), std::move(json));
    });
    if (const redisReply& settings = element(*reply, 4); settings.type != REDIS_REPLY_NIL)
        snapshot.settings = text(settings);
    return snapshot;
}

std::vector<FleetEvent> FleetRedis::read_events(const std::string& stream_id, std::chrono::milliseconds wait) {
    std::string command;
    append_command(command,
                   {"XREAD", "COUNT", "1000", "BLOCK", milliseconds(wait), "STREAMS", keys_[kEventsKey], stream_id});
    // Redis answers an empty blocking read at its next cron tick after
    // `wait` (hz 10: up to ~100 ms late), so the margin is more than that.
    RoutedReply routed = router_.call("XREAD", command, wait + std::max(timeout_, kBlockedReadMargin));
    const redisReply& reply = *routed.reply;
    if (is_error(reply)) throw std::runtime_error(std::string(reply_text(reply)));
    std::vector<FleetEvent> events;
    if (reply.type == REDIS_REPLY_NIL) return events;
    // [[stream, [entry, ...]]]
    const redisReply& entries = element(element(reply, 0), 1);
    for (std::size_t i = 0; i < entries.elements; ++i) events.push_back(parse_event(*entries.element[i]));
    return events;
}

FleetHeartbeatReply FleetRedis::heartbeat(const std::string& name, const std::string& record) {
    const RedisReplyPtr reply =
        eval({"heartbeat", std::to_string(kFleetStreamLength), name, record, milliseconds(kFleetNodeLifetime)});
    FleetHeartbeatReply beat;
    beat.seq = count(element(*reply, 0));
    if (reply->elements % 3 != 1) unexpected("not name/record/heartbeat triples");
    for (std::size_t i = 1; i < reply->elements; i += 3)
        beat.nodes.push_back(
            {text(element(*reply, i)), text(element(*reply, i + 1)), number(text(element(*reply, i + 2)))});
    return beat;
}

void FleetRedis::leave(const std::string& name) { eval({"leave", std::to_string(kFleetStreamLength), name}); }

}  // namespace sluice
