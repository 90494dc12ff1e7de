// The permission bits of a file (its st_mode & 07777), for the tests of
// files that must be private (mode 0600): keys, tokens, saved state. A file
// that cannot be stat'ed fails the test and reads as 0.
#pragma once

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>

namespace sluice::testing {

inline mode_t mode_of(const std::filesystem::path& file) {
    struct stat st {};
    EXPECT_EQ(::stat(file.c_str(), &st), 0) << file;
    return st.st_mode & 07777;
}

}  // namespace sluice::testing
