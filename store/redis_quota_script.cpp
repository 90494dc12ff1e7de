#include "store/redis_quota_script.h"

#include "store/redis_quota_script_text.h"  // generated from redis_quota_script.lua

#include <openssl/sha.h>

#include <string>

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

const QuotaScript& quota_script() {
    static const std::string digest = sha1_hex(kRedisQuotaScriptText);
    static const QuotaScript script{kRedisQuotaScriptText, digest};
    return script;
}

}  // namespace sluice
