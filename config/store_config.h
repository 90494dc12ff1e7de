// The config's `store` section as sluiced uses it (README, "Fleet mode").
#pragma once

#include "store/redis_store.h"

#include <filesystem>

namespace sluice {

// What a request gets while Redis cannot answer.
enum class StoreErrorPolicy {
    local,   // this host's own counters, at the same limits
    open,    // forwarded, without rate-limit headers
    closed,  // refused with 503 and Retry-After
};

struct RedisStoreConfig {
    RedisStoreSettings settings;            // endpoint, key_prefix, timeout
    std::filesystem::path password_file;    // empty: no AUTH
    std::filesystem::path key_secret_file;  // the fleet's identity hashing key
    StoreErrorPolicy on_error = StoreErrorPolicy::local;
    std::string node;  // this host's name in the fleet; empty: the host name
};

}  // namespace sluice
