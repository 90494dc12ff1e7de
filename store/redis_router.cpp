#include "store/redis_router.h"

#include "common/log.h"
#include "redis/command.h"
#include "store/redis_store.h"

namespace sluice {

// The one CLUSTER SLOTS query out; its answer replaces the map.
class RedisRouter::SlotsQuery final : public RedisReplyHandler {
public:
    SlotsQuery(RedisRouter& router, std::string host) : router_(router), host_(std::move(host)) {}

    void on_reply(RedisReplyPtr reply) override {
        Checked<SlotMap> map = SlotMap::from_cluster_slots(*reply, host_);
        if (map.ok())
            router_.slots_ = std::move(map).value();
        else
            log(LogLevel::warning, "store: Redis Cluster %s: %s", host_.c_str(), map.error().c_str());
        router_.query_.reset();  // last: destroys this
    }
    void on_failure(std::string_view reason) override {
        log(LogLevel::warning, "store: Redis Cluster slots: %.*s", static_cast<int>(reason.size()), reason.data());
        router_.query_.reset();
    }

private:
    RedisRouter& router_;
    std::string host_;
};

RedisRouter::RedisRouter(boost::asio::io_context& io, const RedisStoreSettings& settings)
    : io_(io),
      settings_(settings) {
    if (cluster()) refresh();
}

RedisRouter::~RedisRouter() = default;

bool RedisRouter::cluster() const { return !settings_.cluster.empty(); }

RedisConnection& RedisRouter::node(const std::string& host, std::uint16_t port) {
    std::shared_ptr<RedisConnection>& connection = nodes_[{host, port}];
    if (!connection) {
        RedisEndpoint endpoint = cluster() ? settings_.cluster.front() : settings_.endpoint;
        endpoint.host = host;
        endpoint.port = port;
        connection = RedisConnection::create(io_, std::move(endpoint), settings_.password,
                                             std::chrono::nanoseconds(settings_.timeout));
    }
    return *connection;
}

RedisConnection& RedisRouter::for_slot(std::uint16_t slot) {
    if (!cluster()) {
        if (!single_) single_ = &node(settings_.endpoint.host, settings_.endpoint.port);
        return *single_;
    }
    const std::optional<std::size_t> index = slots_ ? slots_->node_of(slot) : std::nullopt;
    if (!index) {  // a seed then: it redirects the call (MOVED) while the slots are asked for
        refresh();
        const RedisEndpoint& seed = settings_.cluster[next_seed_ % settings_.cluster.size()];
        return node(seed.host, seed.port);
    }
    const SlotMap::Node& n = slots_->nodes()[*index];
    return node(n.host, n.port);
}

RedisConnection& RedisRouter::redirected(const Redirect& redirect, const RedisConnection& from) {
    return node(redirect.host.empty() ? from.endpoint().host : redirect.host, redirect.port);
}

void RedisRouter::moved(const Redirect& redirect, const RedisConnection& from) {
    if (slots_)
        slots_->moved(redirect.slot, redirect.host.empty() ? from.endpoint().host : redirect.host, redirect.port);
    refresh();  // a reshard moves many slots: learn them all at once
}

void RedisRouter::close_all() {
    for (auto& [address, connection] : nodes_) connection->close();
}

void RedisRouter::refresh() {
    if (query_) return;
    // The seeds first, then the nodes the map named, in turn.
    std::vector<std::pair<std::string, std::uint16_t>> candidates;
    for (const RedisEndpoint& seed : settings_.cluster) candidates.emplace_back(seed.host, seed.port);
    if (slots_)
        for (const SlotMap::Node& n : slots_->nodes()) candidates.emplace_back(n.host, n.port);
    const auto& [host, port] = candidates[next_seed_++ % candidates.size()];
    query_ = std::make_unique<SlotsQuery>(*this, host);
    std::string command;
    append_command(command, {"CLUSTER", "SLOTS"});
    node(host, port).send(command, *query_);
}

}  // namespace sluice
