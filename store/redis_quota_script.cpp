#include "store/redis_quota_script.h"

#include "store/redis_quota_script_text.h"  // generated from redis_quota_script.lua

namespace sluice {

const RedisScript& quota_script() {
    static const RedisScript script(kRedisQuotaScriptText);
    return script;
}

}  // namespace sluice
