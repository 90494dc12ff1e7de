// The Redis store's Lua script (store/redis_quota_script.lua, compiled in)
// and its SHA-1 digest, the name EVALSHA calls it by.
#pragma once

#include <string_view>

namespace sluice {

struct QuotaScript {
    std::string_view text;
    std::string_view digest;  // 40 lowercase hex characters
};

const QuotaScript& quota_script();

}  // namespace sluice
