#include "state/state_file.h"

#include "tests/support/temp_folder.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <stdexcept>

namespace sluice {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> names_in(const fs::path& folder) {
    std::vector<std::string> names;
    for (const fs::directory_entry& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    return names;
}

std::string error_of(const fs::path& file, std::string_view text) {
    try {
        write_file_atomically(file, text);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "<no error>";
}

TEST(StateFileTest, CreatesTheFileWithOwnerOnlyPermissions) {
    testing::TempFolder dir;
    write_file_atomically(dir / "quotas.json", "{\"quotas\": []}\n");
    EXPECT_EQ(testing::TempFolder::read(dir / "quotas.json"), "{\"quotas\": []}\n");
    struct stat info {};
    ASSERT_EQ(::stat((dir / "quotas.json").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0600u);
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"quotas.json"}) << "no temporary file left behind";
}

TEST(StateFileTest, ReplacesTheWholeContentAndLeavesOtherFilesAlone) {
    testing::TempFolder dir;
    dir.write("blocks.json", std::string(4096, 'x'));
    dir.write("other.json", "other");
    write_file_atomically(dir / "blocks.json", "short");
    EXPECT_EQ(testing::TempFolder::read(dir / "blocks.json"), "short");
    EXPECT_EQ(testing::TempFolder::read(dir / "other.json"), "other");
    write_file_atomically(dir / "blocks.json", "");
    EXPECT_EQ(testing::TempFolder::read(dir / "blocks.json"), "");
    EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"blocks.json", "other.json"}));
}

TEST(StateFileTest, MissingFolderIsNamedWithTheReason) {
    testing::TempFolder dir;
    const fs::path file = dir / "absent/quotas.json";
    EXPECT_EQ(error_of(file, "x"), "cannot write " + file.string() + ": No such file or directory");
    EXPECT_TRUE(fs::is_empty(dir.path()));
}

// As root, permissions do not stop a write; a parent that is a regular file does.
TEST(StateFileTest, FolderThatIsAFileFailsAndKeepsIt) {
    testing::TempFolder dir;
    const fs::path not_a_folder = dir.write("state", "keep me");
    const fs::path file = not_a_folder / "quotas.json";
    EXPECT_EQ(error_of(file, "x"), "cannot write " + file.string() + ": Not a directory");
    EXPECT_EQ(testing::TempFolder::read(not_a_folder), "keep me");
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"state"});
}

TEST(StateFileTest, TargetThatIsAFolderFailsAndRemovesTheTemporaryFile) {
    testing::TempFolder dir;
    fs::create_directories(dir / "quotas.json/inside");
    EXPECT_EQ(error_of(dir / "quotas.json", "x"),
              "cannot write " + (dir / "quotas.json").string() + ": Is a directory");
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"quotas.json"}) << "the temporary file was removed";
}

TEST(StateFileTest, FileWithoutAFolderIsWrittenInTheWorkingFolder) {
    testing::TempFolder dir;
    const fs::path previous = fs::current_path();
    fs::current_path(dir.path());
    write_file_atomically("plain.json", "1");
    fs::current_path(previous);
    EXPECT_EQ(testing::TempFolder::read(dir / "plain.json"), "1");
}

}  // namespace
}  // namespace sluice
