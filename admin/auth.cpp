#include "admin/auth.h"

#include <boost/algorithm/string/predicate.hpp>

namespace sluice {
namespace {

// The credentials of "Bearer <token>" (scheme case-insensitive, as RFC 9110
// says); empty for any other scheme.
std::string_view bearer_token(std::string_view authorization) {
    constexpr std::string_view kScheme = "bearer ";
    if (authorization.size() <= kScheme.size() ||
        !boost::algorithm::iequals(authorization.substr(0, kScheme.size()), kScheme))
        return {};
    std::string_view token = authorization.substr(kScheme.size());
    const std::size_t start = token.find_first_not_of(' ');
    return start == std::string_view::npos ? std::string_view{} : token.substr(start);
}

}  // namespace

bool same_token(std::string_view given, std::string_view expected) {
    // Only the length of `given`, which its sender knows, shapes the loop.
    unsigned char difference = given.size() == expected.size() ? 0 : 1;
    for (std::size_t i = 0; i < given.size(); ++i) {
        const unsigned char e = i < expected.size() ? static_cast<unsigned char>(expected[i]) : 0;
        difference |= static_cast<unsigned char>(static_cast<unsigned char>(given[i]) ^ e);
    }
    return difference == 0 && !expected.empty();
}

AuthResult AdminAuth::check(const TokenHeaders& headers) const {
    std::string_view given = headers.vault_token;
    if (given.empty()) given = headers.sluice_token;
    if (given.empty()) given = bearer_token(headers.authorization);
    if (given.empty()) return AuthResult::missing;
    return same_token(given, token_) ? AuthResult::granted : AuthResult::denied;
}

}  // namespace sluice
