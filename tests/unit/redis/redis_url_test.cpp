#include "redis/redis_url.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

RedisEndpoint endpoint(std::string host, std::uint16_t port, std::string user = "", int db = 0) {
    return RedisEndpoint{std::move(host), port, std::move(user), db};
}

std::string url_error(std::string_view url) {
    const Checked<RedisEndpoint> parsed = parse_redis_url(url);
    EXPECT_FALSE(parsed.ok()) << url;
    return parsed.error();
}

std::string seed_error(std::string_view seed) {
    const Checked<RedisEndpoint> parsed = parse_redis_seed(seed);
    EXPECT_FALSE(parsed.ok()) << seed;
    return parsed.error();
}

TEST(RedisUrl, ReadsEveryPart) {
    EXPECT_EQ(parse_redis_url("redis://cache.internal").value(), endpoint("cache.internal", 6379));
    EXPECT_EQ(parse_redis_url("redis://10.0.0.5:6380").value(), endpoint("10.0.0.5", 6380));
    EXPECT_EQ(parse_redis_url("redis://sluice@10.0.0.5:6380/3").value(), endpoint("10.0.0.5", 6380, "sluice", 3));
    EXPECT_EQ(parse_redis_url("redis://[::1]").value(), endpoint("::1", 6379));
    EXPECT_EQ(parse_redis_url("redis://[2001:db8::7]:7000/15").value(), endpoint("2001:db8::7", 7000, "", 15));
    EXPECT_EQ(parse_redis_url("redis://h/").value(), endpoint("h", 6379));
    EXPECT_EQ(parse_redis_url("redis://h:1/0").value(), endpoint("h", 1));
    EXPECT_EQ(parse_redis_url("redis://h:65535").value(), endpoint("h", 65535));
}

TEST(RedisUrl, TheUserMayHoldPercentEscapes) {
    EXPECT_EQ(parse_redis_url("redis://ops%40example.com@h").value().user, "ops@example.com");
    EXPECT_EQ(parse_redis_url("redis://a%3ab@h").value().user, "a:b");
}

TEST(RedisUrl, EachMistakeHasItsMessage) {
    EXPECT_EQ(url_error("rediss://x"),
              "\"rediss://x\" is not supported: TLS to Redis is not available yet; use redis://");
    EXPECT_EQ(url_error(""), "\"\" is not a Redis URL: expected redis://[user@]host[:port][/db]");
    EXPECT_EQ(url_error("cache:6379"), "\"cache:6379\" is not a Redis URL: expected redis://[user@]host[:port][/db]");
    EXPECT_EQ(url_error("unix:///run/redis.sock"),
              "\"unix:///run/redis.sock\" is not a Redis URL: expected redis://[user@]host[:port][/db]");
    EXPECT_EQ(url_error("redis://h x"), "\"redis://h x\" has a space or control character in it");
    EXPECT_EQ(url_error("redis://h/0?timeout=1s"),
              "\"redis://h/0?timeout=1s\" has a query (\"?timeout=1s\"): options in the URL are not supported");
    EXPECT_EQ(url_error("redis://@h"), "\"redis://@h\" has no user before \"@\"");
    EXPECT_EQ(url_error("redis://a%zz@h"), "\"redis://a%zz@h\" has a broken %-escape in the user");
    EXPECT_EQ(url_error("redis://a%4@h"), "\"redis://a%4@h\" has a broken %-escape in the user");
    EXPECT_EQ(url_error("redis://"), "\"redis://\" has no host");
    EXPECT_EQ(url_error("redis://:6379"), "\"redis://:6379\" has no host");
    EXPECT_EQ(url_error("redis://u@/1"), "\"redis://u@/1\" has no host");
    EXPECT_EQ(url_error("redis://h!x"), "\"redis://h!x\" has \"h!x\" as host: expected a host name or an IP address");
    EXPECT_EQ(url_error("redis://[::1"), "\"redis://[::1\" has an unclosed \"[\"");
    EXPECT_EQ(url_error("redis://[10.0.0.1]"),
              "\"redis://[10.0.0.1]\" has \"10.0.0.1\" in brackets, which is not an IPv6 address");
    EXPECT_EQ(url_error("redis://[::1]6379"),
              "\"redis://[::1]6379\" has \"6379\" after the IPv6 address: expected \":port\" or nothing");
    EXPECT_EQ(url_error("redis://::1"),
              "\"redis://::1\" has an IPv6 address without brackets: write it as [address]:port");
    EXPECT_EQ(url_error("redis://h:"), "\"redis://h:\" has an empty port");
    EXPECT_EQ(url_error("redis://h:x"), "\"redis://h:x\" has a port that is not a number");
    EXPECT_EQ(url_error("redis://h:-1"), "\"redis://h:-1\" has a port that is not a number");
    EXPECT_EQ(url_error("redis://h:99999"), "\"redis://h:99999\" has a port out of range (1-65535)");
    EXPECT_EQ(url_error("redis://h:0"), "\"redis://h:0\" has a port out of range (1-65535)");
    EXPECT_EQ(url_error("redis://h:99999999999999999999999"),
              "\"redis://h:99999999999999999999999\" has a port out of range (1-65535)");
    EXPECT_EQ(url_error("redis://h/16"),
              "\"redis://h/16\" has \"16\" as database: the database must be a number from 0 to 15");
    EXPECT_EQ(url_error("redis://h/-1"),
              "\"redis://h/-1\" has \"-1\" as database: the database must be a number from 0 to 15");
    EXPECT_EQ(url_error("redis://h/db1"),
              "\"redis://h/db1\" has \"db1\" as database: the database must be a number from 0 to 15");
    EXPECT_EQ(url_error("redis://h/1/2"),
              "\"redis://h/1/2\" has \"1/2\" as database: the database must be a number from 0 to 15");
}

TEST(RedisUrl, APasswordIsRefusedAndNeverRepeated) {
    EXPECT_EQ(url_error("redis://sluice:hunter2@h:6379/1"),
              "\"redis://sluice:***@h:6379/1\" has a password in it: put the password in password_file, never in "
              "the URL");
    EXPECT_EQ(url_error("redis://:hunter2@h"),
              "\"redis://:***@h\" has a password in it: put the password in password_file, never in the URL");
    // Whatever else is wrong comes with the password hidden too, "@" and "/" in it included.
    EXPECT_EQ(url_error("rediss://u:hunter2@h"),
              "\"rediss://u:***@h\" is not supported: TLS to Redis is not available yet; use redis://");
    EXPECT_EQ(url_error("redis://u:hun/ter@2@h"),
              "\"redis://u:***@h\" has a password in it: put the password in password_file, never in the URL");
    EXPECT_EQ(seed_error("u:hunter2@h:1"), "\"u:***@h:1\" is not a cluster seed: expected host:port, without a user");
}

TEST(RedisSeed, IsHostAndPort) {
    EXPECT_EQ(parse_redis_seed("10.0.0.5:7000").value(), endpoint("10.0.0.5", 7000));
    EXPECT_EQ(parse_redis_seed("[::1]:7001").value(), endpoint("::1", 7001));
    EXPECT_EQ(parse_redis_seed("node-a").value(), endpoint("node-a", 6379));
}

TEST(RedisSeed, EachMistakeHasItsMessage) {
    EXPECT_EQ(seed_error("redis://h:7000"),
              "\"redis://h:7000\" is not a cluster seed: expected host:port, without a scheme");
    EXPECT_EQ(seed_error("u@h:7000"), "\"u@h:7000\" is not a cluster seed: expected host:port, without a user");
    EXPECT_EQ(seed_error("h:7000/1"),
              "\"h:7000/1\" is not a cluster seed: expected host:port, without a database (a cluster has only "
              "database 0)");
    EXPECT_EQ(seed_error("h :7000"), "\"h :7000\" has a space or control character in it");
    EXPECT_EQ(seed_error(""), "\"\" has no host");
    EXPECT_EQ(seed_error("h:70000"), "\"h:70000\" has a port out of range (1-65535)");
    EXPECT_EQ(seed_error("::1:7000"), "\"::1:7000\" has an IPv6 address without brackets: write it as [address]:port");
}

TEST(RedisEndpoint, DescribesHostAndPort) {
    EXPECT_EQ(describe(endpoint("10.0.0.5", 6380, "u", 3)), "10.0.0.5:6380");
    EXPECT_EQ(describe(endpoint("::1", 6379)), "[::1]:6379");
    EXPECT_EQ(describe(endpoint("cache.internal", 6379)), "cache.internal:6379");
}

}  // namespace
}  // namespace sluice
