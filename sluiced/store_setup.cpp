#include "sluiced/store_setup.h"

#include "common/log.h"
#include "common/regular_file.h"
#include "sluiced/fleet_key.h"
#include "state/counter_snapshot.h"
#include "store/fallback_store.h"
#include "store/redis_handle.h"

#include <stdexcept>

namespace sluice {
namespace {

constexpr std::size_t kMaxPasswordBytes = 4096;

std::string read_password(const std::filesystem::path& file) {
    const FileText read = read_regular_file(file, kMaxPasswordBytes);
    if (!read.text) throw std::runtime_error("cannot read store.password_file " + file.string() + ": " + read.error);
    std::string password = *read.text;
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
    if (password.empty()) throw std::runtime_error("store.password_file " + file.string() + " is empty");
    return password;
}

RedisStoreSettings redis_settings(const RedisStoreConfig& config) {
    RedisStoreSettings settings = config.settings;
    if (!config.password_file.empty()) settings.password = read_password(config.password_file);
    return settings;
}

}  // namespace

StoreHandleMaker StoreSetup::handles() {
    if (!redis) return [store = local](boost::asio::io_context&) -> std::shared_ptr<QuotaStoreHandle> { return store; };
    if (!fall_back_locally) return [store = redis.get()](boost::asio::io_context& io) { return store->handle_for(io); };
    return [store = redis.get(), fallback = local](boost::asio::io_context& io) -> std::shared_ptr<QuotaStoreHandle> {
        return std::make_shared<FallbackStore>(store->handle_for(io), fallback);
    };
}

StoreSetup set_up_store(const Config& config, const Clock& clock) {
    auto local = std::make_shared<LocalStore>(config.max_keys);
    if (!config.store) {
        // The counters of the last clean stop, and the hasher key they were made with.
        const KeyedHasher hasher = restore_counters(config.state_dir, *local, clock);
        return StoreSetup{std::move(local), nullptr, hasher};
    }
    const RedisStoreConfig& store = *config.store;
    FleetKey key = load_fleet_key(store.key_secret_file);
    for (const std::string& note : key.notes) log(LogLevel::notice, "%s", note.c_str());
    StoreSetup setup{std::move(local), std::make_unique<RedisStore>(redis_settings(store), clock), key.hasher};
    setup.fall_back_locally = store.on_error == StoreErrorPolicy::local;
    setup.on_error = store.on_error == StoreErrorPolicy::closed ? OnStoreError::closed : OnStoreError::open;
    const std::string where = describe(store.settings);
    try {
        if (const std::string mismatch = setup.redis->claim_fleet_key(key.fingerprint); !mismatch.empty())
            throw std::runtime_error("store.key_secret_file " + store.key_secret_file.string() + ": " + mismatch);
        log(LogLevel::info, "store: %s, fleet key %s", where.c_str(), key.fingerprint.c_str());
    } catch (const RedisUnreachable& e) {
        log(LogLevel::warning,
            "store: %s; store.on_error answers until Redis is back (this host's fleet key is not checked against "
            "the fleet's)",
            e.what());
    }
    return setup;
}

std::optional<std::string> store_warning(const Config& config) {
    if (!config.store) return std::nullopt;
    try {
        const SteadyClock clock;
        RedisStore store(redis_settings(*config.store), clock);
        store.ping();
        return std::nullopt;
    } catch (const std::exception& e) {
        return std::string(e.what());
    }
}

}  // namespace sluice
