#include "admin/token.h"

#include "common/random_id.h"
#include "common/regular_file.h"
#include "state/state_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kTokenBytes = 32;  // 256 bits
constexpr std::size_t kMaxTokenFileBytes = 4096;

[[noreturn]] void fail(const fs::path& file, const std::string& reason) {
    throw std::runtime_error("admin token file " + file.string() + ": " + reason);
}

struct TokenFile {
    std::string text;
    mode_t mode = 0;
};

// nullopt when the file does not exist.
std::optional<TokenFile> read_file(const fs::path& file) {
    FileText read = read_regular_file(file, kMaxTokenFileBytes);
    if (read.error_number == ENOENT) return std::nullopt;
    if (!read.text) fail(file, read.error);
    return TokenFile{std::move(*read.text), static_cast<mode_t>(read.mode)};
}

// Writes a complete token file under a unique temporary name, then links it
// into place: the link fails when the file exists, so a concurrent start
// never sees a half-written token and never replaces one. False when the
// file appeared meanwhile.
bool create_file(const fs::path& file) {
    const fs::path folder = file.has_parent_path() ? file.parent_path() : fs::path(".");
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) fail(file, "cannot create folder " + folder.string() + ": " + ec.message());

    const fs::path temporary = file.string() + ".new-" + random_hex(8);
    try {
        write_file_atomically(temporary, random_hex(kTokenBytes) + "\n");  // mode 0600
    } catch (const std::exception& e) {
        fail(file, e.what());
    }
    const bool linked = ::link(temporary.c_str(), file.c_str()) == 0;
    const int link_error = errno;
    ::unlink(temporary.c_str());
    if (!linked && link_error != EEXIST) fail(file, "cannot create: " + std::string(std::strerror(link_error)));
    try {
        sync_folder_of(file);  // a power cut must not lose the token once it was logged
    } catch (const std::exception& e) {
        fail(file, e.what());
    }
    return linked;
}

std::string octal(mode_t mode) {
    char text[16];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

}  // namespace

AdminToken load_admin_token(const fs::path& file) {
    AdminToken token;
    std::optional<TokenFile> read = read_file(file);
    if (!read) {
        if (create_file(file)) token.notes.push_back("admin token created in " + file.string() + " (mode 0600)");
        read = read_file(file);
        if (!read) fail(file, "disappeared while it was being created");
    }
    std::string& text = read->text;
    text.erase(text.find_last_not_of(" \t\r\n") + 1);
    if (text.empty()) fail(file, "is empty");
    if (read->mode & (S_IRGRP | S_IROTH))
        token.notes.push_back("admin token file " + file.string() + " is readable by others (mode " +
                              octal(read->mode) + "): chmod 600 it");
    token.value = std::move(text);
    return token;
}

}  // namespace sluice
