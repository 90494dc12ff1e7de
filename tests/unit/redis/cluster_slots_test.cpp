#include "redis/cluster_slots.h"

#include "redis/reply.h"
#include "tests/support/redis_cluster.h"

#include <hiredis/hiredis.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;

namespace sluice {
namespace {

using testing::redis_call;
using testing::RedisCluster;

// The slots redis-server 7.0 answers to CLUSTER KEYSLOT for these keys.
TEST(HashSlot, AgreesWithClusterKeyslot) {
    const std::pair<std::string_view, std::uint16_t> known[] = {
        {"foo", 12182},
        {"bar", 5061},
        {"", 0},
        {"123456789", 12739},  // the spec's CRC16 check value, 0x31C3
        {"user:1", 10778},
        {"{user1000}.following", 3443},
        {"{user1000}.followers", 3443},
        {"foo{}{bar}", 8363},     // an empty tag: the whole key
        {"foo{{bar}}zap", 4015},  // the tag is "{bar"
        {"foo{bar}{zap}", 5061},  // only the first tag counts: "bar"
        {"{}", 15257},
        {"{}foo", 9500},
        {"}{", 12793},  // no '}' after the '{'
        {"{", 4092},
        {"}", 12090},
        {"{{}}", 4092},  // the tag is "{"
        {"a{b}", 3300},
        {"{a}", 15495},
        {"x{}", 2608},
    };
    for (const auto& [key, slot] : known) EXPECT_EQ(hash_slot(key), slot) << '"' << key << '"';
}

TEST(HashSlot, ATagHashesOnlyWhatIsBetweenTheFirstBraces) {
    EXPECT_EQ(hash_slot("{user1000}.following"), hash_slot("user1000"));
    EXPECT_EQ(hash_slot("foo{{bar}}zap"), hash_slot("{bar"));
    EXPECT_EQ(hash_slot("foo{bar}{zap}"), hash_slot("bar"));
    EXPECT_NE(hash_slot("foo{}{bar}"), hash_slot("bar"));
    EXPECT_EQ(hash_slot(std::string_view("a{\0}", 4)), hash_slot(std::string_view("\0", 1)));
}

// Every field of a redirect in one line, to compare at once.
std::string fields(const std::optional<Redirect>& redirect) {
    if (!redirect) return "not a redirect";
    return std::string(redirect->kind == Redirect::Kind::moved ? "moved" : "ask") + " slot " +
           std::to_string(redirect->slot) + " host \"" + redirect->host + "\" port " + std::to_string(redirect->port);
}

TEST(ParseRedirect, ReadsMovedAndAsk) {
    EXPECT_EQ(fields(parse_redirect("MOVED 3999 127.0.0.1:6381")), "moved slot 3999 host \"127.0.0.1\" port 6381");
    EXPECT_EQ(fields(parse_redirect("ASK 16383 10.0.0.2:6380")), "ask slot 16383 host \"10.0.0.2\" port 6380");
}

TEST(ParseRedirect, TheLastColonSplitsThePort) {
    EXPECT_EQ(fields(parse_redirect("MOVED 1 ::1:7000")), "moved slot 1 host \"::1\" port 7000");
    EXPECT_EQ(fields(parse_redirect("ASK 0 2001:db8::7:65535")), "ask slot 0 host \"2001:db8::7\" port 65535");
    EXPECT_EQ(fields(parse_redirect("MOVED 2 redis-2.example:6379")),
              "moved slot 2 host \"redis-2.example\" port 6379");
    // An unknown endpoint: the host the command went to.
    EXPECT_EQ(fields(parse_redirect("MOVED 5 :6390")), "moved slot 5 host \"\" port 6390");
}

TEST(ParseRedirect, AnythingElseIsNotARedirect) {
    for (const char* text : {"ERR unknown command", "MOVED", "MOVED 1", "MOVED 1 ", "ASK 1 host", "MOVED 16384 h:1",
                             "MOVED -1 h:1", "MOVED +1 h:1", "MOVED 99999 h:1", "MOVED x h:1", "MOVED  1 h:1",
                             "MOVED 1 h:0", "MOVED 1 h:65536", "MOVED 1 h:", "MOVED 1 h:-1", "MOVED 1 h:1 more",
                             "moved 1 h:1", "-MOVED 1 h:1", "TRYAGAIN Multiple keys request during rehashing"})
        EXPECT_FALSE(parse_redirect(text)) << text;
}

// The one reply in `bytes` (RESP), as hiredis' reader builds it; throws when
// the bytes are not exactly one whole reply.
RedisReplyPtr parse_reply(std::string_view bytes) {
    const std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(), redisReaderFree);
    void* reply = nullptr;
    if (redisReaderFeed(reader.get(), bytes.data(), bytes.size()) != REDIS_OK ||
        redisReaderGetReply(reader.get(), &reply) != REDIS_OK || reply == nullptr)
        throw std::runtime_error("not one whole RESP reply: " + std::string(bytes));
    return RedisReplyPtr(static_cast<redisReply*>(reply));
}

// RESP, written the way it reads.
std::string bulk(std::string_view text) {
    return "$" + std::to_string(text.size()) + "\r\n" + std::string(text) + "\r\n";
}
std::string integer(long long value) { return ":" + std::to_string(value) + "\r\n"; }
std::string array(std::initializer_list<std::string> items) {
    std::string text = "*" + std::to_string(items.size()) + "\r\n";
    for (const std::string& item : items) text += item;
    return text;
}
const std::string kNil = "$-1\r\n";
std::string node(std::string_view host, long long port) { return array({bulk(host), integer(port), bulk("id")}); }
std::string range(long long first, long long last, const std::string& primary) {
    return array({integer(first), integer(last), primary});
}

Checked<SlotMap> slot_map(const std::string& resp, std::string_view seed_host = "seed") {
    return SlotMap::from_cluster_slots(*parse_reply(resp), seed_host);
}

std::string address(const SlotMap& map, std::uint16_t slot) {
    const std::optional<std::size_t> index = map.node_of(slot);
    if (!index) return "none";
    return map.nodes().at(*index).host + ":" + std::to_string(map.nodes()[*index].port);
}

TEST(SlotMap, ReadsClusterSlots) {
    // As redis-server 7.0 answers: a replica after the primary, and each
    // node's metadata (an empty map) after its id.
    const std::string redis7_node = array({bulk("10.0.0.1"), integer(7000), bulk("a1"), array({})});
    const std::string replica = array({bulk("10.0.0.9"), integer(7009), bulk("r1"), array({})});
    const Checked<SlotMap> map = slot_map(array({
        array({integer(0), integer(5460), redis7_node, replica}), range(5461, 10922, node("10.0.0.2", 7000)),
        range(10923, 16000, node("10.0.0.1", 7000)),  // the first node again
    }));
    ASSERT_TRUE(map.ok()) << map.error();
    EXPECT_THAT(map.value().nodes(), ElementsAre(SlotMap::Node{"10.0.0.1", 7000}, SlotMap::Node{"10.0.0.2", 7000}));
    EXPECT_EQ(address(map.value(), 0), "10.0.0.1:7000");
    EXPECT_EQ(address(map.value(), 5460), "10.0.0.1:7000");
    EXPECT_EQ(address(map.value(), 5461), "10.0.0.2:7000");
    EXPECT_EQ(address(map.value(), 10922), "10.0.0.2:7000");
    EXPECT_EQ(address(map.value(), 10923), "10.0.0.1:7000");
    EXPECT_EQ(address(map.value(), 16000), "10.0.0.1:7000");
    EXPECT_EQ(address(map.value(), 16001), "none");  // not assigned
    EXPECT_EQ(address(map.value(), 16383), "none");
    EXPECT_THROW(map.value().node_of(16384), std::out_of_range);
}

TEST(SlotMap, ANilOrEmptyHostIsTheSeedAndAQuestionMarkIsUnknown) {
    const Checked<SlotMap> map = slot_map(array({
        range(0, 9, array({kNil, integer(7001), bulk("a")})),
        range(10, 19, node("", 7002)),
        range(20, 29, node("?", 7003)),
    }));
    ASSERT_TRUE(map.ok()) << map.error();
    EXPECT_EQ(address(map.value(), 0), "seed:7001");
    EXPECT_EQ(address(map.value(), 19), "seed:7002");
    EXPECT_EQ(address(map.value(), 20), "none");
    EXPECT_EQ(map.value().nodes().size(), 2u);
}

TEST(SlotMap, AnEmptyReplyServesNoSlot) {
    const Checked<SlotMap> map = slot_map("*0\r\n");
    ASSERT_TRUE(map.ok()) << map.error();
    EXPECT_TRUE(map.value().nodes().empty());
    EXPECT_EQ(address(map.value(), 12182), "none");
}

TEST(SlotMap, AMalformedReplyIsRefusedNamingThePlace) {
    const std::pair<std::string, std::string> cases[] = {
        {"-ERR This instance has cluster support disabled\r\n",
         "CLUSTER SLOTS failed: ERR This instance has cluster support disabled"},
        {"+OK\r\n", "CLUSTER SLOTS reply: expected an array of slot ranges, got a status"},
        {array({integer(1)}),
         "CLUSTER SLOTS reply[0]: expected an array of a slot range and its nodes, got an integer"},
        {array({array({integer(0), integer(1)})}),
         "CLUSTER SLOTS reply[0]: expected at least 3 elements (first slot, last slot, primary), got 2"},
        {array({range(0, 1, node("a", 1)), array({bulk("0"), integer(1), node("a", 1)})}),
         "CLUSTER SLOTS reply[1][0]: expected a slot number, got a string"},
        {array({range(0, 16384, node("a", 1))}), "CLUSTER SLOTS reply[0][1]: slot 16384 is not within 0 to 16383"},
        {array({range(-1, 5, node("a", 1))}), "CLUSTER SLOTS reply[0][0]: slot -1 is not within 0 to 16383"},
        {array({range(9, 5, node("a", 1))}), "CLUSTER SLOTS reply[0]: first slot 9 is after last slot 5"},
        {array({range(0, 1, kNil)}), "CLUSTER SLOTS reply[0][2]: expected an array of host, port and id, got nil"},
        {array({range(0, 1, array({bulk("a")}))}),
         "CLUSTER SLOTS reply[0][2]: expected at least 2 elements (host, port), got 1"},
        {array({range(0, 1, array({integer(1), integer(1)}))}),
         "CLUSTER SLOTS reply[0][2][0]: expected a host (a string or nil), got an integer"},
        {array({range(0, 1, array({bulk("a"), bulk("7000")}))}),
         "CLUSTER SLOTS reply[0][2][1]: expected a port, got a string"},
        {array({range(0, 1, node("a", 0))}), "CLUSTER SLOTS reply[0][2][1]: port 0 is not within 1 to 65535"},
        {array({range(0, 1, node("a", 70000))}), "CLUSTER SLOTS reply[0][2][1]: port 70000 is not within 1 to 65535"},
        {array({range(0, 100, node("a", 1)), range(200, 300, node("b", 1)), range(250, 400, node("c", 1))}),
         "CLUSTER SLOTS reply[2]: slot 250 is also in reply[1]"},
        {array({range(5, 5, node("?", 1)), range(0, 9, node("b", 1))}),
         "CLUSTER SLOTS reply[1]: slot 5 is also in reply[0]"},
    };
    for (const auto& [resp, reason] : cases) {
        const Checked<SlotMap> map = slot_map(resp);
        EXPECT_FALSE(map.ok()) << resp;
        EXPECT_EQ(map.error(), reason) << resp;
    }
}

TEST(SlotMap, MovedPointsOneSlotAtItsNewNode) {
    Checked<SlotMap> checked = slot_map(array({range(0, 16383, node("10.0.0.1", 7000))}));
    ASSERT_TRUE(checked.ok()) << checked.error();
    SlotMap map = std::move(checked).value();

    map.moved(3999, "10.0.0.2", 7000);
    EXPECT_EQ(address(map, 3999), "10.0.0.2:7000");
    EXPECT_EQ(address(map, 3998), "10.0.0.1:7000");
    EXPECT_EQ(address(map, 4000), "10.0.0.1:7000");
    map.moved(4000, "10.0.0.2", 7000);  // a node already known is not added again
    map.moved(3999, "10.0.0.1", 7000);
    EXPECT_EQ(address(map, 3999), "10.0.0.1:7000");
    EXPECT_EQ(address(map, 4000), "10.0.0.2:7000");
    EXPECT_THAT(map.nodes(), ElementsAre(SlotMap::Node{"10.0.0.1", 7000}, SlotMap::Node{"10.0.0.2", 7000}));
}

// "host:port" of each slot as CLUSTER NODES lists them: "<id> <ip:port@bus>
// <flags> <primary> <ping> <pong> <epoch> <link> <slot or first-last>...".
std::map<std::uint16_t, std::string> slots_in_cluster_nodes(std::string_view text) {
    std::map<std::uint16_t, std::string> owners;
    std::istringstream lines{std::string(text)};
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::string id, address, field;
        fields >> id >> address;
        address = address.substr(0, address.find('@'));
        for (int skipped = 0; skipped < 6; ++skipped) fields >> field;
        while (fields >> field) {
            if (field.front() == '[') continue;  // a slot being migrated
            const std::size_t dash = field.find('-');
            const int first = std::stoi(field.substr(0, dash));
            const int last = dash == std::string::npos ? first : std::stoi(field.substr(dash + 1));
            for (int slot = first; slot <= last; ++slot) owners[static_cast<std::uint16_t>(slot)] = address;
        }
    }
    return owners;
}

std::string text_of(const RedisReplyPtr& reply) { return std::string(reply_text(*reply)); }

class SlotMapCluster : public testing::RedisServerTest {};

TEST_F(SlotMapCluster, AgreesWithARealCluster) {
    const RedisCluster cluster(3);
    const std::vector<std::uint16_t>& ports = cluster.ports();

    const Checked<SlotMap> checked = SlotMap::from_cluster_slots(*redis_call(ports[0], {"CLUSTER", "SLOTS"}), "x");
    ASSERT_TRUE(checked.ok()) << checked.error();
    const SlotMap& map = checked.value();
    std::vector<SlotMap::Node> expected_nodes;
    for (const std::uint16_t port : ports) expected_nodes.push_back({"127.0.0.1", port});
    EXPECT_THAT(map.nodes(), UnorderedElementsAreArray(expected_nodes));

    // Every slot where CLUSTER NODES puts it, and every node tells the same.
    const std::map<std::uint16_t, std::string> owners =
        slots_in_cluster_nodes(text_of(redis_call(ports[1], {"CLUSTER", "NODES"})));
    ASSERT_EQ(owners.size(), kClusterSlots);
    for (const auto& [slot, owner] : owners) ASSERT_EQ(address(map, slot), owner) << "slot " << slot;
    for (const std::uint16_t port : ports) {
        const Checked<SlotMap> other = SlotMap::from_cluster_slots(*redis_call(port, {"CLUSTER", "SLOTS"}), "x");
        ASSERT_TRUE(other.ok()) << other.error();
        for (std::uint16_t slot = 0; slot < kClusterSlots; ++slot)
            ASSERT_EQ(address(other.value(), slot), address(map, slot)) << "slot " << slot << " at " << port;
    }

    // The node the map names takes the key; any other redirects there.
    for (const std::string key : {"foo", "bar", "{user1000}.following", "{user1000}.followers", "foo{}{bar}",
                                  "foo{{bar}}zap", "sluice:quota:42", ""}) {
        const std::uint16_t slot = hash_slot(key);
        EXPECT_EQ(redis_call(ports[2], {"CLUSTER", "KEYSLOT", key})->integer, slot) << key;
        const SlotMap::Node& owner = map.nodes().at(map.node_of(slot).value());
        const RedisReplyPtr set = redis_call(owner.port, {"SET", key, "1"});
        EXPECT_EQ(set->type, REDIS_REPLY_STATUS) << key << ": " << text_of(set);
        for (const std::uint16_t port : ports) {
            if (port == owner.port) continue;
            const RedisReplyPtr get = redis_call(port, {"GET", key});
            ASSERT_EQ(get->type, REDIS_REPLY_ERROR) << key;
            EXPECT_EQ(fields(parse_redirect(text_of(get))),
                      fields(Redirect{Redirect::Kind::moved, slot, owner.host, owner.port}))
                << text_of(get);
        }
    }
}

}  // namespace
}  // namespace sluice
