#include "common/regular_file.h"

#include "tests/support/temp_folder.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cerrno>

namespace sluice {
namespace {

namespace fs = std::filesystem;

void expect_refused(const FileText& read, const std::string& error, int error_number = 0) {
    EXPECT_FALSE(read.text);
    EXPECT_EQ(read.error, error);
    EXPECT_EQ(read.error_number, error_number);
}

TEST(RegularFile, ReadsUpToTheLimitWithItsMode) {
    const testing::TempFolder folder;
    const fs::path file = folder.write("a.json", "0123456789");
    fs::permissions(file, fs::perms(0640));
    const FileText read = read_regular_file(file, 10);
    EXPECT_EQ(read.text, "0123456789");
    EXPECT_EQ(read.mode, 0640u);
    expect_refused(read_regular_file(file, 9), "larger than 9 bytes");
}

// Opening a FIFO for reading would wait for a writer: never, here.
TEST(RegularFile, AFifoIsRefusedWithoutWaitingForAWriter) {
    const testing::TempFolder folder;
    const fs::path fifo = folder / "fifo.json";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    expect_refused(read_regular_file(fifo, kMaxConfigFileBytes), "not a regular file");
}

TEST(RegularFile, DevicesAndFoldersAreRefusedThroughLinksToo) {
    const testing::TempFolder folder;
    fs::create_symlink("/dev/zero", folder / "zero.json");
    expect_refused(read_regular_file(folder / "zero.json", kMaxConfigFileBytes), "not a regular file");
    expect_refused(read_regular_file(folder.path(), kMaxConfigFileBytes), "not a regular file");
}

TEST(RegularFile, AMissingFileGivesItsErrno) {
    const testing::TempFolder folder;
    expect_refused(read_regular_file(folder / "absent", 1), "No such file or directory", ENOENT);
}

TEST(RegularFile, SizesAreShownInTheLargestWholeUnit) {
    EXPECT_EQ(byte_size_text(kMaxConfigFileBytes), "16 MiB");
    EXPECT_EQ(byte_size_text(4096), "4 KiB");
    EXPECT_EQ(byte_size_text(1536), "1536 bytes");
    EXPECT_EQ(byte_size_text(1), "1 byte");
}

}  // namespace
}  // namespace sluice
