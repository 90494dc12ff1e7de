#include "sluicectl/arguments.h"
#include "tests/unit/sluicectl/failure_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::ctl {
namespace {

using ::testing::ElementsAre;

Invocation parse(std::vector<std::string> args) { return parse_arguments(args); }

std::string usage_error(std::vector<std::string> args) {
    return usage_error_of([&] { parse_arguments(args); });
}

TEST(SluicectlArguments, GlobalOptionsGoBeforeOrAfterTheCommand) {
    const Invocation before = parse({"--address", "10.0.0.1:8200", "--json", "--token", "t1", "quota", "list"});
    EXPECT_EQ(before.command, CommandKind::quota_list);
    EXPECT_EQ(before.connection.address, "10.0.0.1:8200");
    EXPECT_EQ(before.connection.token, "t1");
    EXPECT_TRUE(before.json);

    const Invocation after = parse({"quota", "list", "--config=/etc/x.json", "--token-file", "/t"});
    EXPECT_EQ(after.command, CommandKind::quota_list);
    EXPECT_EQ(after.connection.config, "/etc/x.json");
    EXPECT_EQ(after.connection.token_file, "/t");
    EXPECT_FALSE(after.connection.address);
    EXPECT_FALSE(after.json);
}

TEST(SluicectlArguments, QuotaCommandsTakeTheirOperands) {
    EXPECT_EQ(parse({"quota", "get", "per-ip"}).target, "per-ip");
    EXPECT_EQ(parse({"quota", "delete", "per-ip"}).command, CommandKind::quota_delete);

    const Invocation set = parse({"quota", "set", "scans", "rate=10", "interval=1m", "--file", "q.json", "path=/a=b"});
    EXPECT_EQ(set.command, CommandKind::quota_set);
    EXPECT_EQ(set.target, "scans");
    EXPECT_THAT(set.assignments, ElementsAre("rate=10", "interval=1m", "path=/a=b"));
    EXPECT_EQ(set.file, "q.json");

    EXPECT_EQ(parse({"quota", "set", "scans", "--file", "q.json"}).assignments.size(), 0u);
}

TEST(SluicectlArguments, UsageTakesAnOptionalKey) {
    const Invocation with_key = parse({"usage", "scans", "key-123"});
    EXPECT_EQ(with_key.command, CommandKind::usage);
    EXPECT_EQ(with_key.target, "scans");
    EXPECT_EQ(with_key.key, "key-123");
    EXPECT_FALSE(parse({"usage", "global"}).key);
}

TEST(SluicectlArguments, BlockCommands) {
    EXPECT_EQ(parse({"block", "list"}).command, CommandKind::block_list);
    const Invocation add = parse({"block", "add", "2001:db8::1", "--duration", "10m"});
    EXPECT_EQ(add.command, CommandKind::block_add);
    EXPECT_EQ(add.target, "2001:db8::1");
    EXPECT_EQ(add.duration, "10m");
    EXPECT_FALSE(parse({"block", "add", "203.0.113.7"}).duration);
    EXPECT_EQ(parse({"block", "remove", "203.0.113.7"}).command, CommandKind::block_remove);
    EXPECT_EQ(parse({"stats"}).command, CommandKind::stats);
}

TEST(SluicectlArguments, NodesTakesNoOperand) {
    const Invocation nodes = parse({"nodes", "--json"});
    EXPECT_EQ(nodes.command, CommandKind::nodes);
    EXPECT_TRUE(nodes.json);
    EXPECT_EQ(usage_error({"nodes", "edge-1"}), "nodes: unexpected \"edge-1\"");
}

TEST(SluicectlArguments, HelpAndVersion) {
    EXPECT_EQ(parse({"help"}).command, CommandKind::help);
    EXPECT_EQ(parse({"--help"}).command, CommandKind::help);
    EXPECT_EQ(parse({"quota", "get", "-h"}).command, CommandKind::help);
    EXPECT_EQ(parse({"--version"}).command, CommandKind::version);
}

TEST(SluicectlArguments, DoubleDashEndsTheOptions) {
    const Invocation invocation = parse({"quota", "get", "--", "--odd-name"});
    EXPECT_EQ(invocation.command, CommandKind::quota_get);
    EXPECT_EQ(invocation.target, "--odd-name");
}

TEST(SluicectlArguments, MistakesAreUsageErrorsThatSayWhat) {
    EXPECT_EQ(usage_error({}), "no command given");
    EXPECT_EQ(usage_error({"quotas"}), "unknown command \"quotas\"");
    EXPECT_EQ(usage_error({"quota"}), "quota needs one of: list, get, set, delete");
    EXPECT_EQ(usage_error({"block", "show"}), "unknown command \"block show\" (block takes: list, add, remove)");
    EXPECT_EQ(usage_error({"quota", "get"}), "quota get needs NAME");
    EXPECT_EQ(usage_error({"usage"}), "usage needs NAME [KEY]");
    EXPECT_EQ(usage_error({"quota", "get", "a", "b"}), "quota get: unexpected \"b\"");
    EXPECT_EQ(usage_error({"usage", "a", "b", "c"}), "usage: unexpected \"c\"");
    EXPECT_EQ(usage_error({"stats", "now"}), "stats: unexpected \"now\"");
    EXPECT_EQ(usage_error({"stats", "--verbose"}), "unknown option --verbose");
    EXPECT_EQ(usage_error({"stats", "--address"}), "--address needs a value");
    EXPECT_EQ(usage_error({"stats", "--token="}), "--token needs a value");
    EXPECT_EQ(usage_error({"--token", "a", "stats", "--token", "b"}), "--token is given twice");
    EXPECT_EQ(usage_error({"--token", "a", "--token-file", "f", "stats"}), "give --token or --token-file, not both");
    EXPECT_EQ(usage_error({"quota", "get", "a", "--file", "f"}), "--file is only for quota set");
    EXPECT_EQ(usage_error({"block", "remove", "1.2.3.4", "--duration", "1m"}), "--duration is only for block add");
    EXPECT_EQ(usage_error({"quota", "set", "a"}), "quota set needs field=value... or --file FILE");
    EXPECT_EQ(usage_error({"quota", "set", "a", "rate10"}), "quota set: \"rate10\" is not field=value");
    EXPECT_EQ(usage_error({"quota", "set", "a", "=10"}), "quota set: \"=10\" is not field=value");
}

}  // namespace
}  // namespace sluice::ctl
