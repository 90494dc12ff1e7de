// The admin API's token: read from admin.token_file, or made on first start.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sluice {

struct AdminToken {
    std::string value;
    // For the log: where a new token was written, or a warning about the file.
    std::vector<std::string> notes;
};

// Reads the token (trailing whitespace trimmed). When `file` does not exist,
// writes a random 256-bit token in hex there first (mode 0600, its folder
// created if missing); two sluiced starting at once end up with the same one.
// Throws std::runtime_error naming the file and the reason when it is empty
// or cannot be read or written. A file others may read still works, with a
// warning note.
AdminToken load_admin_token(const std::filesystem::path& file);

}  // namespace sluice
