// sluiced --check and its command line.
#include "harness.h"

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

constexpr std::chrono::seconds kExitTimeout{10};

TEST(Check, AValidExampleIsOk) {
    const std::string file = std::string(SLUICE_SOURCE_DIR) + "/configs/examples/per-ip-and-token.json";
    ChildProcess check(SLUICED_BINARY, {"--config", file, "--check"});
    EXPECT_EQ(check.wait_exit(kExitTimeout), 0);
    EXPECT_EQ(check.stdout_text(), file + ": OK (2 quotas)\n");
}

// What the package installs as /etc/sluice/sluice.json, with its quota file.
TEST(Check, TheInstalledExampleIsOk) {
    const std::string file = std::string(SLUICE_SOURCE_DIR) + "/configs/sluice.json";
    ChildProcess check(SLUICED_BINARY, {"--config", file, "--check"});
    EXPECT_EQ(check.wait_exit(kExitTimeout), 0);
    EXPECT_EQ(check.stdout_text(), file + ": OK (2 quotas)\n");
}

TEST(Check, AnInvalidConfigExitsOneNamingTheError) {
    testing::TempFolder dir;
    nlohmann::json config = example_config("per-ip-and-token.json");
    config["quotas"][1]["interval"] = "5x";
    const std::string file = dir.write("bad.json", config.dump()).string();
    ChildProcess check(SLUICED_BINARY, {"--config", file, "--check"});
    EXPECT_EQ(check.wait_exit(kExitTimeout), 1);
    EXPECT_EQ(check.stderr_text(), file + ": quotas[1].interval: \"5x\" is not a duration\n");
}

TEST(Check, ServingAnInvalidConfigExitsOne) {
    testing::TempFolder dir;
    const std::string file = dir.write("bad.json", R"({"listen": ["127.0.0.1:1"], "upstream": "ftp://x"})").string();
    ChildProcess sluiced(SLUICED_BINARY, {"--config", file});
    EXPECT_EQ(sluiced.wait_exit(kExitTimeout), 1);
    EXPECT_NE(sluiced.stderr_text().find(file + ": upstream: "), std::string::npos) << sluiced.stderr_text();
}

TEST(Check, UsageErrorsExitTwo) {
    ChildProcess no_config(SLUICED_BINARY, {"--check"});
    EXPECT_EQ(no_config.wait_exit(kExitTimeout), 2);
    EXPECT_NE(no_config.stderr_text().find("usage: sluiced --config FILE"), std::string::npos);
    ChildProcess unknown(SLUICED_BINARY, {"--frobnicate"});
    EXPECT_EQ(unknown.wait_exit(kExitTimeout), 2);
}

TEST(Check, APortInUseIsAClearError) {
    Deployment running(nlohmann::json{{"quotas", nlohmann::json::array()}});
    testing::TempFolder dir;
    const nlohmann::json config = {{"listen", {"127.0.0.1:" + std::to_string(running.port())}},
                                   {"upstream", "http://127.0.0.1:" + std::to_string(running.upstream_port())}};
    const std::string file = dir.write("taken.json", config.dump()).string();
    ChildProcess second(SLUICED_BINARY, {"--config", file});
    EXPECT_EQ(second.wait_exit(kExitTimeout), 1);
    EXPECT_NE(
        second.stderr_text().find("listen 127.0.0.1:" + std::to_string(running.port()) + ": Address already in use"),
        std::string::npos)
        << second.stderr_text();
    EXPECT_EQ(running.stop_sluiced(), 0);
}

}  // namespace
}  // namespace sluice::test
