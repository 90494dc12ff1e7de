// Where one event loop's script calls go: the one Redis of `url`, or in a
// Redis Cluster the node that serves a key's slot, as CLUSTER SLOTS said and
// MOVED redirects corrected since. One connection per node, made on first use.
#pragma once

#include "redis/cluster_slots.h"
#include "redis/connection.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace sluice {

struct RedisStoreSettings;

class RedisRouter {
public:
    RedisRouter(boost::asio::io_context& io, const RedisStoreSettings& settings);
    ~RedisRouter();

    bool cluster() const;
    // The connection for `slot`: its node's, or while no node is known to
    // serve it (the slots are being asked for) a seed's, which redirects.
    RedisConnection& for_slot(std::uint16_t slot);
    // The node a redirect names; an empty host is the node the command went to.
    RedisConnection& redirected(const Redirect& redirect, const RedisConnection& from);
    // After MOVED: the slot's new node, and a fresh map asked for.
    void moved(const Redirect& redirect, const RedisConnection& from);
    // Every connection closed (their calls fail); the next call connects again.
    void close_all();

private:
    class SlotsQuery;

    RedisConnection& node(const std::string& host, std::uint16_t port);
    // Asks the next known node for CLUSTER SLOTS, unless a query is out.
    void refresh();

    boost::asio::io_context& io_;
    const RedisStoreSettings& settings_;
    std::map<std::pair<std::string, std::uint16_t>, std::shared_ptr<RedisConnection>> nodes_;
    RedisConnection* single_ = nullptr;  // the one Redis's, found once
    std::optional<SlotMap> slots_;       // cluster only
    std::unique_ptr<SlotsQuery> query_;
    std::size_t next_seed_ = 0;
};

}  // namespace sluice
