#include "redis/command.h"

#include <gtest/gtest.h>

#include <vector>

namespace sluice {
namespace {

TEST(RedisCommand, IsAnArrayOfBulkStrings) {
    std::string out;
    append_command(out, {"INCR", "counter"});
    EXPECT_EQ(out, "*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n");
}

TEST(RedisCommand, AppendsSoAPipelineIsOneBuffer) {
    std::string out;
    append_command(out, {"PING"});
    const std::vector<std::string_view> args{"SET", "k", ""};
    append_command(out, args);
    EXPECT_EQ(out, "*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(RedisCommand, ArgumentsMayHoldAnyBytes) {
    std::string out;
    const std::string binary("a\r\n\0b", 5);
    append_command(out, {"SET", binary, std::string(1000, 'x')});
    EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$5\r\n" + binary + "\r\n$1000\r\n" + std::string(1000, 'x') + "\r\n");
}

}  // namespace
}  // namespace sluice
