// Redis Cluster's key distribution, pure: which of the 16384 hash slots a
// key falls in, what a MOVED or ASK redirect says, and which node serves
// each slot as CLUSTER SLOTS reported it and later redirects corrected.
// Spec: https://redis.io/docs/reference/cluster-spec/ ("Keys distribution
// model", "Hash tags", "Redirection and resharding").
#pragma once

#include "common/checked.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisReply;  // hiredis

namespace sluice {

constexpr std::size_t kClusterSlots = 16384;

// CRC16-XMODEM of the key mod 16384; when the key holds a hash tag (the
// first '{' and the first '}' after it, with something between them) only
// the tag is hashed, so "{user1000}.following" and "{user1000}.followers"
// share a slot.
std::uint16_t hash_slot(std::string_view key);

struct Redirect {
    enum class Kind { moved, ask } kind;
    std::uint16_t slot;
    // As Redis prints it: an IPv4 or IPv6 address without brackets, or a
    // hostname; empty when the node's endpoint is unknown, which means the
    // host the command was sent to.
    std::string host;
    std::uint16_t port;
};

// The text of an error reply (hiredis' reply->str, without RESP's '-'):
// "MOVED 3999 127.0.0.1:6381", "ASK 3999 10.0.0.2:6380", "MOVED 1 ::1:7000"
// (the last colon splits the port). nullopt for any other error and for a
// redirect that is not well formed.
std::optional<Redirect> parse_redirect(std::string_view error_text);

class SlotMap {
public:
    struct Node {
        std::string host;
        std::uint16_t port;
        bool operator==(const Node&) const = default;
    };

    // From the reply to CLUSTER SLOTS: an array of [first slot, last slot,
    // [host, port, id, ...], replicas...]; only the primary (the first node)
    // is kept. A nil or empty host means the host CLUSTER SLOTS was sent to,
    // `seed_host`; a "?" host (cluster-announce-hostname missing) leaves its
    // slots without a node. The reason names the place in the reply, e.g.
    // "CLUSTER SLOTS reply[2][2][1]: port 70000 is not within 1 to 65535".
    static Checked<SlotMap> from_cluster_slots(const redisReply& reply, std::string_view seed_host);

    // The index in nodes() of the node serving `slot` (< kClusterSlots);
    // nullopt when no node serves it as far as this map knows.
    std::optional<std::size_t> node_of(std::uint16_t slot) const;
    // Every node seen, in the order first seen; a node stays listed after it
    // stops serving slots (a fresh CLUSTER SLOTS makes a fresh map).
    const std::vector<Node>& nodes() const { return nodes_; }

    // After "MOVED slot host:port": that node serves `slot` from now on.
    // `host` must already be resolved (an empty one replaced by the host the
    // command went to).
    void moved(std::uint16_t slot, std::string_view host, std::uint16_t port);

private:
    SlotMap();
    std::uint32_t index_of(std::string_view host, std::uint16_t port);

    static constexpr std::uint32_t kNoNode = 0xffffffff;

    std::vector<Node> nodes_;
    std::vector<std::uint32_t> slot_nodes_;  // kClusterSlots entries: an index in nodes_ or kNoNode
};

}  // namespace sluice
