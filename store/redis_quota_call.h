// One request's checks as one call of the quota script (redis_quota_script.lua)
// and its reply back as the checks' results: the wire format of the Redis
// store, kept apart from the connection so that it is tested on its own.
#pragma once

#include "common/checked.h"
#include "limit/quota_store.h"

#include <span>
#include <string>
#include <string_view>

struct redisReply;

namespace sluice {

// Where the script takes its clock from: Redis's TIME (every host agrees), or
// the caller's `now` (tests replay exact instants, as the local store's do).
enum class RedisClock { redis, caller };

// How the script is named in the call: EVALSHA with its digest, or EVAL with
// its text (after NOSCRIPT: Redis lost its script cache).
enum class ScriptBy { digest, text };

// The Redis key of one state: the identity in braces is the hash tag, so a
// client's keys share one Redis Cluster slot. `prefix` holds no brace.
void append_state_key(std::string& out, std::string_view prefix, std::uint64_t identity, std::uint64_t key);

// Appends the call (RESP) for `checks` at `now` to `out`.
void append_quota_call(std::string& out, ScriptBy by, std::string_view key_prefix, RedisClock clock,
                       std::span<const QuotaCheck> checks, Nanos now);

// Appends the call that gives back what `checks` consumed at `now` (a
// request refused by another slot of a Redis Cluster, or answered without
// Redis): a token bucket's emission, a window's count.
void append_refund_call(std::string& out, ScriptBy by, std::string_view key_prefix, RedisClock clock,
                        std::span<const QuotaCheck> checks, Nanos now);

// The Redis Cluster slot of every key of `identity` (its hash tag).
std::uint16_t state_key_slot(std::uint64_t identity);

// Appends the call that reads one state without changing it.
void append_peek_call(std::string& out, ScriptBy by, std::string_view key_prefix, RedisClock clock, std::uint64_t key,
                      std::uint64_t identity, Nanos now);

// The script's reply: fills `results` (one per check) and says whether the
// request was admitted; failed with the reason when the reply is an error
// or not what the script returns.
Checked<StoreReply> read_quota_reply(const redisReply& reply, std::span<CheckResult> results);

// The peek reply as a state on the caller's clock (`now`: when it was asked).
Checked<LimitState> read_peek_reply(const redisReply& reply, Nanos now);

}  // namespace sluice
