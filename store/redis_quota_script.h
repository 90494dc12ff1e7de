// The Redis store's Lua script (store/redis_quota_script.lua, compiled in).
#pragma once

#include "redis/script.h"

namespace sluice {

const RedisScript& quota_script();

}  // namespace sluice
