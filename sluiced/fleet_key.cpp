#include "sluiced/fleet_key.h"

#include "common/checked.h"
#include "common/random_id.h"
#include "common/regular_file.h"
#include "state/state_file.h"

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string_view>

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kKeyBytes = 32;
// A few whitespace characters around the key, not a file to read whole.
constexpr std::size_t kMaxKeyFileBytes = 4096;

using KeyBytes = std::array<unsigned char, kKeyBytes>;

[[noreturn]] void fail(const fs::path& file, const std::string& reason) {
    throw std::runtime_error("fleet key file " + file.string() + ": " + reason);
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The reasons never quote the text: it is a secret, even when mistyped.
Checked<KeyBytes> parse_key(std::string_view text) {
    constexpr std::string_view whitespace = " \t\r\n";
    const std::size_t first = text.find_first_not_of(whitespace);
    text = first == std::string_view::npos ? std::string_view() : text.substr(first);
    text = text.substr(0, text.find_last_not_of(whitespace) + 1);
    if (text.size() != 2 * kKeyBytes)
        return Checked<KeyBytes>::failed("is not 64 hex digits (it holds " + std::to_string(text.size()) +
                                         " characters)");
    KeyBytes bytes{};
    for (std::size_t i = 0; i < text.size(); ++i) {
        const int digit = hex_value(text[i]);
        if (digit < 0)
            return Checked<KeyBytes>::failed("is not 64 hex digits (character " + std::to_string(i + 1) +
                                             " is not a hex digit)");
        bytes[i / 2] = static_cast<unsigned char>(bytes[i / 2] << 4 | digit);
    }
    return bytes;
}

std::uint64_t little_endian(const unsigned char* bytes) {
    std::uint64_t word = 0;
    for (int i = 7; i >= 0; --i) word = word << 8 | bytes[i];
    return word;
}

// One of the values the key gives (the header says how; never change it).
std::uint64_t derive(const KeyBytes& key, std::string_view label) {
    const KeyedHasher master(little_endian(key.data()), little_endian(key.data() + 8));
    std::string message(label);
    message += '\0';
    message.append(reinterpret_cast<const char*>(key.data()) + 16, 16);
    return master(message);
}

std::string octal(unsigned mode) {
    char text[16];
    std::snprintf(text, sizeof text, "%04o", mode & 07777);
    return text;
}

// What group and others may do that they must not; empty when nothing.
std::string open_to_others(unsigned mode) {
    if (mode & 044) return "readable";
    if (mode & 022) return "writable";
    if (mode & 011) return "executable";
    return {};
}

}  // namespace

FleetKey load_fleet_key(const fs::path& file) {
    std::vector<std::string> notes;
    FileText read = read_regular_file(file, kMaxKeyFileBytes);
    if (read.error_number == ENOENT) {
        try {
            if (create_file_once(file, random_hex(kKeyBytes) + "\n"))
                notes.push_back("created the fleet key " + file.string() +
                                ": copy it to every host that shares this Redis");
        } catch (const std::exception& e) {
            fail(file, e.what());
        }
        read = read_regular_file(file, kMaxKeyFileBytes);
    }
    if (!read.text) fail(file, read.error);
    if (const std::string access = open_to_others(read.mode); !access.empty())
        fail(file, "is " + access + " by others (mode " + octal(read.mode) + "); chmod 600 it");
    const Checked<KeyBytes> key = parse_key(*read.text);
    if (!key.ok()) fail(file, key.error());

    char fingerprint[17];
    std::snprintf(fingerprint, sizeof fingerprint, "%016llx",
                  static_cast<unsigned long long>(derive(key.value(), "sluice fleet key fingerprint")));
    return FleetKey{KeyedHasher(derive(key.value(), "sluice fleet key k0"), derive(key.value(), "sluice fleet key k1")),
                    fingerprint, std::move(notes)};
}

}  // namespace sluice
