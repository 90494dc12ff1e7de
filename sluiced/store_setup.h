// The quota store sluiced runs with (config `store`, README "Fleet mode"):
// this host's local store alone, or Redis shared by the fleet with the local
// store standing in while Redis cannot answer (on_error "local").
#pragma once

#include "config/config.h"
#include "limit/keyed_hash.h"
#include "proxy/proxy_server.h"
#include "store/local_store.h"
#include "store/redis_store.h"

#include <memory>
#include <optional>
#include <string>

namespace sluice {

struct StoreSetup {
    std::shared_ptr<LocalStore> local;           // the store, or Redis's fallback
    std::unique_ptr<RedisStore> redis;           // with "type": "redis"
    KeyedHasher hasher;                          // the fleet's with Redis
    bool fall_back_locally = false;              // on_error "local"
    OnStoreError on_error = OnStoreError::open;  // otherwise

    // What the limiter asks outside requests (usage, unblocks).
    QuotaStore& queries() { return redis ? static_cast<QuotaStore&>(*redis) : *local; }
    // Each event loop's handle.
    StoreHandleMaker handles();
};

// Reads the files the store needs (the fleet key is created when missing),
// restores the local counters of the last stop (local store only), and checks
// that this host's fleet key is the fleet's: throws std::runtime_error when
// it is not, or when a file cannot be read. Redis being down is no error
// here: it is logged, and on_error answers until Redis is back.
StoreSetup set_up_store(const Config& config, const Clock& clock);

// For --check: why the configured Redis cannot be used now, or nullopt.
std::optional<std::string> store_warning(const Config& config);

}  // namespace sluice
