// Who may call the admin API: whoever presents its token.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

// The request headers that may carry the token, as received; empty when absent.
struct TokenHeaders {
    std::string vault_token{};    // X-Vault-Token
    std::string sluice_token{};   // X-Sluice-Token
    std::string authorization{};  // Authorization: Bearer <token>
};

enum class AuthResult { granted, missing, denied };

class AdminAuth {
public:
    explicit AdminAuth(std::string token) : token_(std::move(token)) {}

    // The token is taken from X-Vault-Token, else X-Sluice-Token, else a
    // Bearer Authorization; one that is present but wrong is denied, none is
    // missing.
    AuthResult check(const TokenHeaders& headers) const;

private:
    std::string token_;
};

// Whether `given` equals `expected`, in a time that does not depend on where
// they differ (so an attacker cannot guess the token byte by byte).
bool same_token(std::string_view given, std::string_view expected);

}  // namespace sluice
