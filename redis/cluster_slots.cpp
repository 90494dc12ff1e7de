#include "redis/cluster_slots.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace sluice {
namespace {

// CRC16-XMODEM (polynomial 0x1021, initial value 0, nothing reflected), the
// CRC the cluster spec names; a table as Redis' crc16.c has.
constexpr std::array<std::uint16_t, 256> kCrc16Table = [] {
    std::array<std::uint16_t, 256> table{};
    for (unsigned byte = 0; byte < 256; ++byte) {
        unsigned crc = byte << 8;
        for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1;
        table[byte] = static_cast<std::uint16_t>(crc);
    }
    return table;
}();

std::uint16_t crc16(std::string_view data) {
    std::uint16_t crc = 0;
    for (const char c : data)
        crc = static_cast<std::uint16_t>((crc << 8) ^ kCrc16Table[((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xff]);
    return crc;
}

// Only the digits of an unsigned decimal, as Redis prints them: no sign, no
// spaces, nothing after.
template <class T>
std::optional<T> decimal(std::string_view text) {
    T value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::string type_name(int type) {
    switch (type) {
    case REDIS_REPLY_STRING: return "a string";
    case REDIS_REPLY_ARRAY: return "an array";
    case REDIS_REPLY_INTEGER: return "an integer";
    case REDIS_REPLY_NIL: return "nil";
    case REDIS_REPLY_STATUS: return "a status";
    case REDIS_REPLY_ERROR: return "an error";
    default: return "reply type " + std::to_string(type);
    }
}

std::string index_path(std::size_t index) { return "[" + std::to_string(index) + "]"; }

}  // namespace

std::uint16_t hash_slot(std::string_view key) {
    const std::size_t open = key.find('{');
    if (open != std::string_view::npos) {
        const std::size_t close = key.find('}', open + 1);
        if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
    }
    return crc16(key) % kClusterSlots;
}

std::optional<Redirect> parse_redirect(std::string_view error_text) {
    const std::size_t kind_end = error_text.find(' ');
    if (kind_end == std::string_view::npos) return std::nullopt;
    const std::string_view kind = error_text.substr(0, kind_end);
    if (kind != "MOVED" && kind != "ASK") return std::nullopt;

    const std::string_view rest = error_text.substr(kind_end + 1);
    const std::size_t slot_end = rest.find(' ');
    if (slot_end == std::string_view::npos) return std::nullopt;
    const std::optional<std::uint16_t> slot = decimal<std::uint16_t>(rest.substr(0, slot_end));
    if (!slot || *slot >= kClusterSlots) return std::nullopt;

    // An IPv6 address has colons of its own; Redis puts the port after the last.
    const std::string_view address = rest.substr(slot_end + 1);
    const std::size_t colon = address.rfind(':');
    if (colon == std::string_view::npos || address.find(' ') != std::string_view::npos) return std::nullopt;
    const std::optional<std::uint16_t> port = decimal<std::uint16_t>(address.substr(colon + 1));
    if (!port || *port == 0) return std::nullopt;

    return Redirect{kind == "MOVED" ? Redirect::Kind::moved : Redirect::Kind::ask, *slot,
                    std::string(address.substr(0, colon)), *port};
}

SlotMap::SlotMap() : slot_nodes_(kClusterSlots, kNoNode) {}

Checked<SlotMap> SlotMap::from_cluster_slots(const redisReply& reply, std::string_view seed_host) {
    const auto failed = [](const std::string& path, const std::string& reason) {
        return Checked<SlotMap>::failed("CLUSTER SLOTS reply" + path + ": " + reason);
    };
    const auto expected = [&](const std::string& path, const std::string& what, const redisReply& got) {
        return failed(path, "expected " + what + ", got " + type_name(got.type));
    };
    if (reply.type == REDIS_REPLY_ERROR)
        return Checked<SlotMap>::failed("CLUSTER SLOTS failed: " + std::string(reply.str, reply.len));
    if (reply.type != REDIS_REPLY_ARRAY) return expected("", "an array of slot ranges", reply);

    SlotMap map;
    // Which entry each slot came from, to name both ends of an overlap.
    std::vector<std::size_t> entry_of(kClusterSlots, reply.elements);
    for (std::size_t i = 0; i < reply.elements; ++i) {
        const std::string path = index_path(i);
        const redisReply& entry = *reply.element[i];
        if (entry.type != REDIS_REPLY_ARRAY) return expected(path, "an array of a slot range and its nodes", entry);
        if (entry.elements < 3)
            return failed(path, "expected at least 3 elements (first slot, last slot, primary), got " +
                                    std::to_string(entry.elements));

        std::array<std::uint16_t, 2> range{};
        for (std::size_t end = 0; end < 2; ++end) {
            const redisReply& slot = *entry.element[end];
            const std::string slot_path = path + index_path(end);
            if (slot.type != REDIS_REPLY_INTEGER) return expected(slot_path, "a slot number", slot);
            if (slot.integer < 0 || slot.integer >= static_cast<long long>(kClusterSlots))
                return failed(slot_path, "slot " + std::to_string(slot.integer) + " is not within 0 to 16383");
            range[end] = static_cast<std::uint16_t>(slot.integer);
        }
        if (range[0] > range[1])
            return failed(path,
                          "first slot " + std::to_string(range[0]) + " is after last slot " + std::to_string(range[1]));

        const redisReply& node = *entry.element[2];
        const std::string node_path = path + "[2]";
        if (node.type != REDIS_REPLY_ARRAY) return expected(node_path, "an array of host, port and id", node);
        if (node.elements < 2)
            return failed(node_path, "expected at least 2 elements (host, port), got " + std::to_string(node.elements));
        const redisReply& host = *node.element[0];
        if (host.type != REDIS_REPLY_STRING && host.type != REDIS_REPLY_NIL)
            return expected(node_path + "[0]", "a host (a string or nil)", host);
        const redisReply& port = *node.element[1];
        if (port.type != REDIS_REPLY_INTEGER) return expected(node_path + "[1]", "a port", port);
        if (port.integer < 1 || port.integer > 65535)
            return failed(node_path + "[1]", "port " + std::to_string(port.integer) + " is not within 1 to 65535");

        for (std::size_t slot = range[0]; slot <= range[1]; ++slot) {
            if (entry_of[slot] != reply.elements)
                return failed(path, "slot " + std::to_string(slot) + " is also in reply" + index_path(entry_of[slot]));
            entry_of[slot] = i;
        }
        const std::string_view host_text =
            host.type == REDIS_REPLY_NIL ? std::string_view() : std::string_view(host.str, host.len);
        // "?" (a hostname endpoint with no hostname configured) is a node
        // whose address is unknown, not the one asked: its slots stay
        // without a node until a redirect or a later CLUSTER SLOTS says.
        if (host_text == "?") continue;
        const std::uint32_t index =
            map.index_of(host_text.empty() ? seed_host : host_text, static_cast<std::uint16_t>(port.integer));
        std::fill(map.slot_nodes_.begin() + range[0], map.slot_nodes_.begin() + range[1] + 1, index);
    }
    return map;
}

std::optional<std::size_t> SlotMap::node_of(std::uint16_t slot) const {
    const std::uint32_t index = slot_nodes_.at(slot);
    if (index == kNoNode) return std::nullopt;
    return index;
}

void SlotMap::moved(std::uint16_t slot, std::string_view host, std::uint16_t port) {
    slot_nodes_.at(slot) = index_of(host, port);
}

std::uint32_t SlotMap::index_of(std::string_view host, std::uint16_t port) {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
        if (nodes_[i].host == host && nodes_[i].port == port) return static_cast<std::uint32_t>(i);
    nodes_.push_back(Node{std::string(host), port});
    return static_cast<std::uint32_t>(nodes_.size() - 1);
}

}  // namespace sluice
