#include "admin/token.h"

#include "tests/support/file_mode.h"
#include "tests/support/temp_folder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <regex>
#include <thread>

using ::testing::ElementsAre;

namespace sluice {
namespace {

namespace fs = std::filesystem;
using testing::mode_of;

TEST(AdminToken, AMissingFileIsCreatedWithARandom256BitTokenAndMode0600) {
    const testing::TempFolder folder;
    const fs::path file = folder / "new/folder/admin.token";
    const AdminToken created = load_admin_token(file);
    EXPECT_TRUE(std::regex_match(created.value, std::regex("[0-9a-f]{64}"))) << created.value;
    EXPECT_THAT(created.notes, ElementsAre("admin token created in " + file.string() + " (mode 0600)"));
    EXPECT_EQ(mode_of(file), 0600u);
    EXPECT_EQ(testing::TempFolder::read(file), created.value + "\n");
    EXPECT_EQ(std::distance(fs::directory_iterator(file.parent_path()), fs::directory_iterator()), 1);

    const AdminToken again = load_admin_token(file);
    EXPECT_EQ(again.value, created.value);
    EXPECT_TRUE(again.notes.empty());
    EXPECT_NE(load_admin_token(folder / "other.token").value, created.value);
}

TEST(AdminToken, ConcurrentFirstStartsAgreeOnOneToken) {
    const testing::TempFolder folder;
    const fs::path file = folder / "admin.token";
    std::vector<AdminToken> tokens(8);
    std::vector<std::thread> starts;
    for (AdminToken& token : tokens) starts.emplace_back([&] { token = load_admin_token(file); });
    for (std::thread& t : starts) t.join();
    int created = 0;
    for (const AdminToken& token : tokens) {
        EXPECT_EQ(token.value, tokens[0].value);
        created += !token.notes.empty();
    }
    EXPECT_EQ(created, 1);
}

TEST(AdminToken, AnExistingFileIsReadWithTrailingWhitespaceTrimmed) {
    const testing::TempFolder folder;
    const fs::path file = folder.write("admin.token", "  my token \r\n\n");
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
    const AdminToken token = load_admin_token(file);
    EXPECT_EQ(token.value, "  my token");
    EXPECT_TRUE(token.notes.empty());
}

TEST(AdminToken, AFileOthersCanReadWorksWithAWarning) {
    const testing::TempFolder folder;
    const fs::path file = folder.write("admin.token", "tok\n");
    fs::permissions(file, fs::perms(0644));
    const AdminToken token = load_admin_token(file);
    EXPECT_EQ(token.value, "tok");
    EXPECT_THAT(token.notes,
                ElementsAre("admin token file " + file.string() + " is readable by others (mode 0644): chmod 600 it"));
}

TEST(AdminToken, AnEmptyOrUnreadableFileIsAnErrorNamingIt) {
    const testing::TempFolder folder;
    const fs::path empty = folder.write("empty.token", " \n");
    try {
        load_admin_token(empty);
        ADD_FAILURE() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "admin token file " + empty.string() + ": is empty");
    }
    const fs::path folder_instead = folder / "dir.token";
    fs::create_directory(folder_instead);
    try {
        load_admin_token(folder_instead);
        ADD_FAILURE() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "admin token file " + folder_instead.string() + ": not a regular file");
    }
}

// A FIFO would block the start until someone writes to it.
TEST(AdminToken, AFifoOrAnOversizedFileIsRefused) {
    const testing::TempFolder folder;
    const fs::path fifo = folder / "fifo.token";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const fs::path large = folder.write("large.token", std::string(4097, 'a'));
    fs::permissions(large, fs::perms(0600));
    for (const auto& [file, reason] : {std::pair{fifo, "not a regular file"}, std::pair{large, "larger than 4 KiB"}}) {
        try {
            load_admin_token(file);
            ADD_FAILURE() << "no error for " << file;
        } catch (const std::runtime_error& e) {
            EXPECT_EQ(std::string(e.what()), "admin token file " + file.string() + ": " + reason);
        }
    }
    fs::resize_file(large, 4096);
    EXPECT_EQ(load_admin_token(large).value, std::string(4096, 'a'));
}

TEST(AdminToken, APathThroughAPlainFileIsAnErrorNamingIt) {
    const testing::TempFolder folder;
    folder.write("plain-file", "x");
    const fs::path file = folder / "plain-file/admin.token";
    try {
        load_admin_token(file);
        ADD_FAILURE() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "admin token file " + file.string() + ": Not a directory");
    }
}

}  // namespace
}  // namespace sluice
