// The audit log of refusals (Vault's enable_rate_limit_audit_logging).
#pragma once

#include "limit/limiter.h"

#include <string_view>

namespace sluice {

// One structured line per refused request, when the quota settings ask for
// it (Vault's enable_rate_limit_audit_logging). Never a token or key value.
void audit_refusal(const Decision& decision, std::string_view method, std::string_view path,
                   std::string_view client_ip);

}  // namespace sluice
