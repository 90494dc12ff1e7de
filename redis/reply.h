// A reply as hiredis's reader builds it (redisReader, <hiredis/read.h>): a
// tree of redisReply with its strings, freed as one by freeReplyObject.
#pragma once

#include <hiredis/hiredis.h>

#include <memory>
#include <string_view>

namespace sluice {

struct RedisReplyFree {
    void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyFree>;

// The bytes of a string, status or error reply ("OK", "ERR unknown command").
inline std::string_view reply_text(const redisReply& reply) { return {reply.str, reply.len}; }

inline bool is_error(const redisReply& reply) { return reply.type == REDIS_REPLY_ERROR; }

// Redis does not hold the script EVALSHA named (it restarted, or its scripts
// were flushed): EVAL sends the text.
inline bool is_noscript(const redisReply& reply) {
    return is_error(reply) && reply_text(reply).starts_with("NOSCRIPT");
}

}  // namespace sluice
