#include "common/random_id.h"

#include <sys/random.h>

#include <cerrno>
#include <span>
#include <system_error>
#include <vector>

namespace sluice {
namespace {

void fill_random(std::span<unsigned char> out) {
    std::size_t filled = 0;
    while (filled < out.size()) {
        const ssize_t n = ::getrandom(out.data() + filled, out.size() - filled, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::system_error(errno, std::generic_category(), "getrandom");
        filled += static_cast<std::size_t>(n);
    }
}

std::string hex(std::span<const unsigned char> bytes) {
    constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    text.reserve(bytes.size() * 2);
    for (const unsigned char b : bytes) {
        text += kDigits[b >> 4];
        text += kDigits[b & 0xf];
    }
    return text;
}

}  // namespace

std::string random_hex(std::size_t bytes) {
    std::vector<unsigned char> buffer(bytes);
    fill_random(buffer);
    return hex(buffer);
}

std::string random_uuid() {
    unsigned char b[16];
    fill_random(b);
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 9562 variant
    const std::span<const unsigned char> all(b);
    return hex(all.subspan(0, 4)) + "-" + hex(all.subspan(4, 2)) + "-" + hex(all.subspan(6, 2)) + "-" +
           hex(all.subspan(8, 2)) + "-" + hex(all.subspan(10, 6));
}

}  // namespace sluice
