// sluiced --check on files it must not read: a FIFO (would block), a device
// (would fill memory), an oversized file, a pattern glob(3) cannot mean.
// Each is refused at once with the file and the reason.
#include "harness.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

namespace sluice::test {
namespace {

// Far below what a blocked or memory-filling check would take.
constexpr std::chrono::seconds kExitTimeout{5};

// A valid config whose quota_files are `patterns`, in `dir`.
std::string config_file(const testing::TempFolder& dir, const nlohmann::json& patterns) {
    const nlohmann::json config = {
        {"listen", {"127.0.0.1:1"}}, {"upstream", "http://127.0.0.1:2"}, {"quota_files", patterns}};
    return dir.write("sluice.json", config.dump()).string();
}

// Exit code 1 (never the timeout's kill) and exactly `errors` on stderr.
void expect_check_fails(const std::string& config, const std::string& errors) {
    ChildProcess check(SLUICED_BINARY, {"--config", config, "--check"});
    EXPECT_EQ(check.wait_exit(kExitTimeout), 1);
    EXPECT_EQ(check.stderr_text(), errors);
}

TEST(UnreadableFiles, AFifoQuotaFileIsRefusedWithoutBlocking) {
    testing::TempFolder dir;
    std::filesystem::create_directory(dir.path() / "quotas.d");
    const std::string fifo = (dir.path() / "quotas.d/fifo.json").string();
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    expect_check_fails(config_file(dir, {"quotas.d/*.json"}), fifo + ": not a regular file\n");
}

TEST(UnreadableFiles, DevZeroThroughASymlinkIsRefusedUnread) {
    testing::TempFolder dir;
    std::filesystem::create_directory(dir.path() / "quotas.d");
    const std::filesystem::path zero = dir.path() / "quotas.d/zero.json";
    std::filesystem::create_symlink("/dev/zero", zero);
    expect_check_fails(config_file(dir, {"quotas.d/*.json"}), zero.string() + ": not a regular file\n");
}

TEST(UnreadableFiles, AConfigFileThatIsAFifoOrTooLargeIsRefused) {
    testing::TempFolder dir;
    const std::string fifo = (dir.path() / "fifo.json").string();
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    expect_check_fails(fifo, fifo + ": not a regular file\n");
    const std::string large = config_file(dir, nlohmann::json::array());
    std::ofstream(large, std::ios::app) << std::string(16 << 20, ' ');
    expect_check_fails(large, large + ": larger than 16 MiB\n");
}

TEST(UnreadableFiles, AGlobWithAnUnclosedBracketIsNamed) {
    testing::TempFolder dir;
    const std::string config = config_file(dir, {"quotas.d/*.json", "quotas.d/[a.json"});
    expect_check_fails(config, config +
                                   R"(: quota_files[1]: "quotas.d/[a.json" is not a valid pattern: a "[" is not closed)"
                                   "\n");
}

}  // namespace
}  // namespace sluice::test
