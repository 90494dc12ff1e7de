#include "admin/token.h"

#include "common/random_id.h"
#include "common/regular_file.h"
#include "state/state_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <stdexcept>

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

// False when the file appeared meanwhile (another sluiced made it).
bool create_file(const fs::path& file) {
    try {
        return create_file_once(file, random_hex(kTokenBytes) + "\n");
    } catch (const std::exception& e) {
        fail(file, e.what());
    }
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
