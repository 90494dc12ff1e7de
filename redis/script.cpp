#include "redis/script.h"

#include <openssl/sha.h>

namespace sluice {
namespace {

std::string sha1_hex(std::string_view text) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char byte : digest) {
        hex += kHex[byte >> 4];
        hex += kHex[byte & 0xf];
    }
    return hex;
}

}  // namespace

RedisScript::RedisScript(std::string_view text) : text_(text), digest_(sha1_hex(text)) {}

}  // namespace sluice
