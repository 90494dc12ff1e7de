// Files in state_dir are replaced atomically: a crash (kill -9, power loss)
// at any moment leaves either the old content or the new, never a mix.
#pragma once

#include "config/quota_json.h"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Writes `text` to a temporary file in `file`'s folder, fsyncs it, renames it
// over `file` and fsyncs the folder. Throws std::runtime_error naming the file
// and the reason (e.g. "cannot write /var/lib/sluice/quotas.json: No space
// left on device"); `file` is then unchanged.
void write_file_atomically(const std::filesystem::path& file, std::string_view text);

// Creates `file` holding `text` (mode 0600; its folder too, when missing)
// unless it exists: the text is written whole to a temporary file
// (write_file_atomically), which is then linked into place, so a reader never
// sees part of it and a concurrent creator's file is never replaced. False
// when `file` existed already (then it is unchanged). Throws
// std::runtime_error with the reason ("cannot create folder /etc/sluice:
// Permission denied", "cannot create: Read-only file system").
bool create_file_once(const std::filesystem::path& file, std::string_view text);

// quotas.json and blocks.json: far more than sluiced writes, small enough
// that a runaway file cannot take the memory.
constexpr std::size_t kMaxStateJsonBytes = std::size_t{1} << 30;

// A state file's bytes; nullopt when it does not exist. Throws
// std::runtime_error "<file>: <reason>" when it is not a regular file, is
// larger than `max_bytes` or cannot be read.
std::optional<std::string> read_state_file(const std::filesystem::path& file, std::size_t max_bytes);

// The JSON document of a state file; nullopt when the file does not exist.
// Throws std::runtime_error "<file>: <reason>" when it is not a regular file,
// is larger than kMaxStateJsonBytes, cannot be read, or is not a JSON
// document parse_json_document accepts ("invalid JSON at line L, column C:
// ...", "<JSON path>: 1e400 is out of range for a number").
std::optional<Json> read_state_json(const std::filesystem::path& file);

// After checking a state file's document: throws the first of `errors` as
// "<file>: <JSON path>: <reason>"; nothing when there are none.
void throw_first_error(const std::filesystem::path& file, std::vector<ConfigError> errors);

// Makes the folder entries of `file` (a new name, a rename, an unlink)
// survive a crash: fsyncs its folder. Throws std::runtime_error as above.
void sync_folder_of(const std::filesystem::path& file);

}  // namespace sluice
