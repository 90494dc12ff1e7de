// Reading the files sluiced is pointed at (config, quota, token and state
// files): regular files only, up to a size limit, so that a FIFO never blocks
// a start or a reload and /dev/zero never fills memory.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

namespace sluice {

// Config and quota files.
constexpr std::size_t kMaxConfigFileBytes = std::size_t{16} << 20;

struct FileText {
    std::optional<std::string> text;
    // When there is no text: why, e.g. "not a regular file", "larger than
    // 16 MiB" or strerror's text; `error_number` is errno when a call failed.
    std::string error;
    int error_number = 0;
    unsigned mode = 0;  // permission bits, when read
};

// Opens without blocking (a FIFO has no writer to wait for), then reads only
// if it is a regular file of at most `max_bytes`.
FileText read_regular_file(const std::filesystem::path& file, std::size_t max_bytes);

// "16 MiB", "64 KiB", "100 bytes".
std::string byte_size_text(std::size_t bytes);

}  // namespace sluice
