#include "sluicectl/connection_settings.h"
#include "tests/unit/sluicectl/failure_check.h"
#include "tests/support/temp_folder.h"

#include <gtest/gtest.h>

#include <map>

namespace sluice::ctl {
namespace {

namespace fs = std::filesystem;

class SluicectlConnection : public ::testing::Test {
protected:
    ConnectionSettings resolve(const ConnectionFlags& flags = {}) {
        return resolve_connection(
            flags,
            [this](const std::string& name) -> std::optional<std::string> {
                const auto it = environment.find(name);
                if (it == environment.end()) return std::nullopt;
                return it->second;
            },
            folder / "etc-sluice.json");  // stands in for /etc/sluice/sluice.json
    }

    std::string usage_error(const ConnectionFlags& flags) {
        return usage_error_of([&] { resolve(flags); });
    }

    testing::TempFolder folder;
    std::map<std::string, std::string> environment;
};

TEST_F(SluicectlConnection, WithNothingGivenLoopbackPort9901AndNoToken) {
    const ConnectionSettings settings = resolve();
    EXPECT_EQ(settings.address, (ListenAddress{"127.0.0.1", 9901}));
    EXPECT_FALSE(settings.token);
    EXPECT_EQ(settings.token_problem, "");
}

TEST_F(SluicectlConnection, FlagsWinOverEnvironmentAndConfig) {
    folder.write("admin.token", "from-config\n");
    const auto config =
        folder.write("c.json", R"({"admin": {"listen": "127.0.0.3:1003", "token_file": "admin.token"}})");
    environment = {{"SLUICE_ADDR", "127.0.0.2:1002"}, {"SLUICE_TOKEN", "from-env"}};
    const ConnectionSettings settings = resolve({"127.0.0.1:1001", "from-flag", std::nullopt, config.string()});
    EXPECT_EQ(settings.address, (ListenAddress{"127.0.0.1", 1001}));
    EXPECT_EQ(settings.token, "from-flag");
}

TEST_F(SluicectlConnection, TokenFileFlagIsReadWithoutItsNewline) {
    const auto token = folder.write("token", "s3cret \n");
    environment = {{"SLUICE_TOKEN", "from-env"}};
    EXPECT_EQ(resolve({std::nullopt, std::nullopt, token.string(), std::nullopt}).token, "s3cret");
}

TEST_F(SluicectlConnection, EnvironmentWinsOverConfigAndSluiceOverVault) {
    folder.write("admin.token", "from-config");
    const auto config =
        folder.write("c.json", R"({"admin": {"listen": "127.0.0.3:1003", "token_file": "admin.token"}})");
    environment = {
        {"VAULT_ADDR", "http://127.0.0.4:8200"}, {"VAULT_TOKEN", "vault"}, {"SLUICE_CONFIG", config.string()}};
    ConnectionSettings settings = resolve();
    EXPECT_EQ(settings.address, (ListenAddress{"127.0.0.4", 8200}));
    EXPECT_EQ(settings.token, "vault");

    environment["SLUICE_ADDR"] = "127.0.0.2:1002";
    environment["SLUICE_TOKEN"] = "sluice";
    settings = resolve();
    EXPECT_EQ(settings.address, (ListenAddress{"127.0.0.2", 1002}));
    EXPECT_EQ(settings.token, "sluice");
}

TEST_F(SluicectlConnection, AddressForms) {
    environment = {{"VAULT_ADDR", "http://localhost/"}};
    EXPECT_EQ(resolve().address, (ListenAddress{"localhost", 80}));
    environment = {{"SLUICE_ADDR", "http://[::1]:9901"}};
    EXPECT_EQ(resolve().address, (ListenAddress{"::1", 9901}));
    EXPECT_EQ(usage_error({"localhost", std::nullopt, std::nullopt, std::nullopt}),
              "--address: \"localhost\" is not HOST:PORT");
    environment = {{"VAULT_ADDR", "https://vault:8200"}};
    EXPECT_EQ(usage_error({}), "VAULT_ADDR: \"https://vault:8200\": the admin API speaks plain HTTP, not https");
}

TEST_F(SluicectlConnection, ConfigGivesListenAndTokenFileRelativeToItsFolder) {
    fs::create_directories(folder / "etc");
    folder.write("etc/admin.token", "relative\n");
    const auto config =
        folder.write("etc/sluice.json", R"({"admin": {"listen": "127.0.0.5:1005", "token_file": "admin.token"}})");
    const ConnectionSettings settings = resolve({std::nullopt, std::nullopt, std::nullopt, config.string()});
    EXPECT_EQ(settings.address, (ListenAddress{"127.0.0.5", 1005}));
    EXPECT_EQ(settings.token, "relative");
}

TEST_F(SluicectlConnection, TokenFileDefaultsToStateDirRelativeToTheConfigFolder) {
    fs::create_directories(folder / "etc" / "state");
    folder.write("etc/state/admin.token", "from-state-dir");
    folder.write("etc/sluice.json", R"({"admin": {}, "state_dir": "state"})");
    environment = {{"SLUICE_CONFIG", (folder / "etc/sluice.json").string()}};
    const ConnectionSettings settings = resolve();
    EXPECT_EQ(settings.address, (ListenAddress{"127.0.0.1", 9901}));  // admin without listen: sluiced's default
    EXPECT_EQ(settings.token, "from-state-dir");
}

TEST_F(SluicectlConnection, ConfigFlagWinsOverSluiceConfigWhichWinsOverTheDefaultFile) {
    folder.write("etc-sluice.json", R"({"admin": {"listen": "127.0.0.1:1001"}})");
    EXPECT_EQ(resolve().address.port, 1001);  // the default file, when it exists
    environment = {{"SLUICE_CONFIG", folder.write("env.json", R"({"admin": {"listen": "127.0.0.1:1002"}})").string()}};
    EXPECT_EQ(resolve().address.port, 1002);
    const auto flag = folder.write("flag.json", R"({"admin": {"listen": "127.0.0.1:1003"}})");
    EXPECT_EQ(resolve({std::nullopt, std::nullopt, std::nullopt, flag.string()}).address.port, 1003);
}

TEST_F(SluicectlConnection, ConfigIsNotReadWhenFlagsGiveEverything) {
    const auto broken = folder.write("broken.json", "{");
    EXPECT_EQ(resolve({"127.0.0.1:1", "t", std::nullopt, broken.string()}).token, "t");
    EXPECT_EQ(usage_error({"127.0.0.1:1", std::nullopt, std::nullopt, broken.string()})
                  .rfind(broken.string() + ": invalid JSON: ", 0),
              0u);
}

TEST_F(SluicectlConnection, AConfigOrTokenFileAskedForMustBeReadable) {
    const std::string missing = (folder / "missing.json").string();
    EXPECT_EQ(usage_error({std::nullopt, std::nullopt, std::nullopt, missing}),
              "cannot read " + missing + ": No such file or directory");
    EXPECT_EQ(usage_error({std::nullopt, std::nullopt, missing, std::nullopt}),
              "cannot read --token-file " + missing + ": No such file or directory");
    const auto empty = folder.write("empty", "\n");
    EXPECT_EQ(usage_error({std::nullopt, std::nullopt, empty.string(), std::nullopt}),
              "--token-file " + empty.string() + " is empty");
    const auto wrong_type = folder.write("c.json", R"({"admin": {"listen": 9901}})");
    EXPECT_EQ(usage_error({std::nullopt, std::nullopt, std::nullopt, wrong_type.string()}),
              wrong_type.string() + ": admin.listen: not a string");
}

TEST_F(SluicectlConnection, AConfigWithoutAdminSectionGivesNothing) {
    folder.write("etc-sluice.json", R"({"listen": ["0.0.0.0:8080"], "state_dir": "state"})");
    const ConnectionSettings settings = resolve();
    EXPECT_EQ(settings.address, (ListenAddress{"127.0.0.1", 9901}));
    EXPECT_FALSE(settings.token);
}

TEST_F(SluicectlConnection, AnUnreadableTokenFileOfTheConfigIsSaidWhenTheServerAsks) {
    const auto config = folder.write("c.json", R"({"admin": {"token_file": "absent.token"}})");
    const ConnectionSettings settings = resolve({std::nullopt, std::nullopt, std::nullopt, config.string()});
    EXPECT_FALSE(settings.token);
    EXPECT_EQ(settings.token_problem, "cannot read the token file " + (folder / "absent.token").string() +
                                          " named by " + config.string() + ": No such file or directory");
}

}  // namespace
}  // namespace sluice::ctl
