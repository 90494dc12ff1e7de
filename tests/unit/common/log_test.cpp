#include "common/log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

namespace sluice {
namespace {

TEST(LogTest, JournalLinesCarryTheSyslogLevel) {
    EXPECT_EQ(format_log_lines(LogLevel::error, "reload failed", true), "<3>reload failed\n");
    EXPECT_EQ(format_log_lines(LogLevel::warning, "w", true), "<4>w\n");
    EXPECT_EQ(format_log_lines(LogLevel::notice, "n", true), "<5>n\n");
    EXPECT_EQ(format_log_lines(LogLevel::info, "i", true), "<6>i\n");
}

TEST(LogTest, ATerminalGetsTheProgramName) {
    EXPECT_EQ(format_log_lines(LogLevel::error, "reload failed", false), "sluiced: reload failed\n");
}

TEST(LogTest, EveryLineOfAMultiLineTextIsPrefixed) {
    // A verifier log arrives as one text; the journal needs the level on each line.
    EXPECT_EQ(format_log_lines(LogLevel::warning, "libbpf: one\ntwo\n\n", true), "<4>libbpf: one\n<4>two\n");
}

// stderr_is_journal compares $JOURNAL_STREAM with fd 2 itself.
class JournalStreamTest : public ::testing::Test {
protected:
    void SetUp() override {
        saved_stderr_ = dup(2);
        file_ = std::tmpfile();
        ASSERT_NE(file_, nullptr);
        ASSERT_EQ(dup2(fileno(file_), 2), 2);
    }
    void TearDown() override {
        dup2(saved_stderr_, 2);
        close(saved_stderr_);
        std::fclose(file_);
        unsetenv("JOURNAL_STREAM");
    }
    std::string stream_of(int fd) const {
        struct stat st {};
        fstat(fd, &st);
        return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    }
    int saved_stderr_ = -1;
    std::FILE* file_ = nullptr;
};

TEST_F(JournalStreamTest, MatchingStreamIsTheJournal) {
    setenv("JOURNAL_STREAM", stream_of(2).c_str(), 1);
    EXPECT_TRUE(stderr_is_journal());
}

TEST_F(JournalStreamTest, StderrRedirectedElsewhereIsNot) {
    setenv("JOURNAL_STREAM", stream_of(saved_stderr_).c_str(), 1);
    EXPECT_FALSE(stderr_is_journal());
}

TEST_F(JournalStreamTest, NoVariableIsNot) {
    unsetenv("JOURNAL_STREAM");
    EXPECT_FALSE(stderr_is_journal());
}

}  // namespace
}  // namespace sluice
