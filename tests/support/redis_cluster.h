// A real Redis Cluster for tests: N primaries (RedisServer nodes in cluster
// mode) joined as `redis-cli --cluster create` joins them. Tests that start
// one derive their fixture from RedisServerTest, which skips them where
// redis-server is not installed.
#pragma once

#include "tests/support/redis_server.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sluice::testing {

class RedisCluster {
public:
    // Starts `primaries` nodes, spreads the slots over them in equal ranges
    // and returns once every node says cluster_state:ok. Throws, with the
    // nodes' output, when a step fails.
    explicit RedisCluster(std::size_t primaries) {
        // Each node's cluster bus gets a port of its own too (cluster-port).
        const std::vector<std::uint16_t> ports = free_loopback_ports(2 * primaries);
        for (std::size_t i = 0; i < primaries; ++i) {
            ports_.push_back(ports[i]);
            nodes_.push_back(std::make_unique<RedisServer>(
                std::vector<std::string>{"--cluster-enabled", "yes", "--cluster-port",
                                         std::to_string(ports[primaries + i]), "--cluster-config-file", "nodes.conf"},
                ports[i]));
        }

        // What `redis-cli --cluster create` sends, sent here: it checks the
        // join once a second, which made a start take 2 to 8 s; this takes
        // the 2 s a new primary waits before it says cluster_state:ok.
        for (std::size_t i = 0; i < primaries; ++i) {
            expect_ok(i, "CLUSTER ADDSLOTSRANGE",
                      nodes_[i]->call({"CLUSTER", "ADDSLOTSRANGE", std::to_string(16384 * i / primaries),
                                       std::to_string(16384 * (i + 1) / primaries - 1)}));
            // Distinct epochs: no collision for the nodes to settle first.
            expect_ok(i, "CLUSTER SET-CONFIG-EPOCH",
                      nodes_[i]->call({"CLUSTER", "SET-CONFIG-EPOCH", std::to_string(i + 1)}));
        }
        // Each pair meets directly: learning of a node by gossip can take seconds.
        for (std::size_t i = 0; i < primaries; ++i)
            for (std::size_t j = i + 1; j < primaries; ++j)
                expect_ok(i, "CLUSTER MEET",
                          nodes_[i]->call({"CLUSTER", "MEET", "127.0.0.1", std::to_string(ports[j]),
                                           std::to_string(ports[primaries + j])}));

        for (std::size_t i = 0; i < primaries; ++i) wait_until_ok(i);
    }

    // The nodes' client ports, on 127.0.0.1.
    const std::vector<std::uint16_t>& ports() const { return ports_; }

private:
    void expect_ok(std::size_t node, std::string_view command, const RedisReplyPtr& reply) const {
        if (reply->type != REDIS_REPLY_STATUS)
            fail(node, "answered " + std::string(command) + " with " + std::string(reply_text(*reply)));
    }

    void wait_until_ok(std::size_t node) const {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            if (reply_text(*nodes_[node]->call({"CLUSTER", "INFO"})).find("cluster_state:ok") != std::string::npos)
                return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        fail(node, "did not say cluster_state:ok within 10 s");
    }

    [[noreturn]] void fail(std::size_t node, const std::string& what) const {
        std::string text = "Redis Cluster: 127.0.0.1:" + std::to_string(ports_[node]) + " " + what;
        for (const auto& n : nodes_) text += "\n--- redis-server " + std::to_string(n->port()) + ":\n" + n->log();
        throw std::runtime_error(text);
    }

    std::vector<std::uint16_t> ports_;
    std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace sluice::testing
