#include "store/redis_quota_call.h"

#include "redis/cluster_slots.h"
#include "redis/command.h"
#include "store/redis_quota_script.h"

#include <hiredis/hiredis.h>

#include <charconv>

namespace sluice {
namespace {

constexpr Nanos kBillion = 1'000'000'000;
constexpr std::size_t kValuesPerCheck = 7;  // the script's ARGV per key
constexpr std::size_t kRefundValuesPerCheck = 2;
constexpr std::size_t kRepliesPerCheck = 4;
constexpr std::size_t kPeekReplies = 5;
constexpr std::size_t kHexDigits = 16;

void append_number(std::string& out, std::int64_t value) {
    char digits[24];
    const char* end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    append_bulk_string(out, {digits, static_cast<std::size_t>(end - digits)});
}

constexpr char kHex[] = "0123456789abcdef";

void append_hex(std::string& out, std::uint64_t value) {
    for (int shift = 60; shift >= 0; shift -= 4) out += kHex[(value >> shift) & 0xf];
}

// The script's numbers for the algorithms, whatever the enum's order.
std::int64_t script_algorithm(Algorithm a) {
    switch (a) {
    case Algorithm::token_bucket: return 0;
    case Algorithm::fixed_window: return 1;
    case Algorithm::sliding_window: return 2;
    }
    return 0;
}

// What every call starts with: the script, the checks' keys, the operation
// and the clock; `values` arguments follow.
void append_head(std::string& out, ScriptBy by, std::string_view key_prefix, std::span<const QuotaCheck> checks,
                 std::size_t values, std::string_view operation, RedisClock clock, Nanos now) {
    const RedisScript& script = quota_script();
    append_array_header(out, 3 + checks.size() + 2 + values);
    append_bulk_string(out, by == ScriptBy::digest ? "EVALSHA" : "EVAL");
    append_bulk_string(out, by == ScriptBy::digest ? script.digest() : script.text());
    append_number(out, static_cast<std::int64_t>(checks.size()));
    for (const QuotaCheck& c : checks) append_state_key(out, key_prefix, c.identity, c.key);
    append_bulk_string(out, operation);
    if (clock == RedisClock::redis) {
        append_bulk_string(out, "redis");
        return;
    }
    append_bulk_string(out, std::to_string(now / kBillion) + " " + std::to_string(now % kBillion));
}

std::string unexpected(std::string_view what) {
    return "the quota script's reply is not what it sends: " + std::string(what);
}

// An error reply's text, or the reason the reply is not `count` integers.
std::string check_integers(const redisReply& r, std::size_t count) {
    if (r.type == REDIS_REPLY_ERROR) return std::string(r.str, r.len);
    if (r.type != REDIS_REPLY_ARRAY) return unexpected("not an array");
    if (r.elements != count)
        return unexpected(std::to_string(r.elements) + " values where " + std::to_string(count) + " were expected");
    for (std::size_t i = 0; i < r.elements; ++i)
        if (r.element[i]->type != REDIS_REPLY_INTEGER || r.element[i]->integer < 0)
            return unexpected("value " + std::to_string(i + 1) + " is not a count or a time");
    return {};
}

// A time relative to Redis's now, on the caller's clock.
Nanos on_callers_clock(long long relative, Nanos now) { return relative > 0 ? now + relative : 0; }

}  // namespace

void append_state_key(std::string& out, std::string_view prefix, std::uint64_t identity, std::uint64_t key) {
    append_bulk_header(out, prefix.size() + 2 + 2 * kHexDigits);
    out += prefix;
    out += '{';
    append_hex(out, identity);
    out += '}';
    append_hex(out, key);
    out += "\r\n";
}

void append_quota_call(std::string& out, ScriptBy by, std::string_view key_prefix, RedisClock clock,
                       std::span<const QuotaCheck> checks, Nanos now) {
    append_head(out, by, key_prefix, checks, kValuesPerCheck * checks.size(), "check", clock, now);
    for (const QuotaCheck& c : checks) {
        const LimitParams& p = *c.params;
        append_number(out, script_algorithm(p.algorithm));
        append_number(out, p.limit);
        append_number(out, p.interval);
        append_number(out, p.emission);
        append_number(out, p.capacity);
        append_number(out, p.block);
        append_bulk_string(out, c.enforce ? "1" : "0");
    }
}

void append_refund_call(std::string& out, ScriptBy by, std::string_view key_prefix, RedisClock clock,
                        std::span<const QuotaCheck> checks, Nanos now) {
    append_head(out, by, key_prefix, checks, kRefundValuesPerCheck * checks.size(), "refund", clock, now);
    for (const QuotaCheck& c : checks) {
        append_number(out, script_algorithm(c.params->algorithm));
        append_number(out, c.params->emission);
    }
}

std::uint16_t state_key_slot(std::uint64_t identity) {
    char tag[kHexDigits];
    for (std::size_t i = 0; i < kHexDigits; ++i) tag[i] = kHex[(identity >> (60 - 4 * i)) & 0xf];
    return hash_slot({tag, kHexDigits});
}

void append_peek_call(std::string& out, ScriptBy by, std::string_view key_prefix, RedisClock clock, std::uint64_t key,
                      std::uint64_t identity, Nanos now) {
    const QuotaCheck state{.key = key, .identity = identity};
    append_head(out, by, key_prefix, {&state, 1}, 0, "peek", clock, now);
}

Checked<StoreReply> read_quota_reply(const redisReply& reply, std::span<CheckResult> results) {
    if (std::string error = check_integers(reply, 1 + kRepliesPerCheck * results.size()); !error.empty())
        return Checked<StoreReply>::failed(std::move(error));
    for (std::size_t i = 0; i < results.size(); ++i) {
        redisReply* const* values = reply.element + 1 + kRepliesPerCheck * i;
        Evaluation& e = results[i].evaluation;
        e = Evaluation{};
        e.allowed = values[0]->integer != 0;
        e.remaining = static_cast<std::uint32_t>(values[1]->integer);
        e.reset = values[2]->integer;
        e.retry_after = values[3]->integer;
        results[i].store_full = false;
    }
    return reply.element[0]->integer != 0 ? StoreReply::admitted : StoreReply::refused;
}

Checked<LimitState> read_peek_reply(const redisReply& reply, Nanos now) {
    if (std::string error = check_integers(reply, kPeekReplies); !error.empty())
        return Checked<LimitState>::failed(std::move(error));
    LimitState s;
    s.time = on_callers_clock(reply.element[0]->integer, now);
    s.hold_until = on_callers_clock(reply.element[1]->integer, now);
    s.current = static_cast<std::uint32_t>(reply.element[2]->integer);
    s.previous = static_cast<std::uint32_t>(reply.element[3]->integer) & 0x7fffffff;
    s.blocked = reply.element[4]->integer != 0;
    return s;
}

}  // namespace sluice
