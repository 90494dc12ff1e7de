#include "proxy/audit.h"

#include "common/log.h"
#include "proxy/answers.h"
#include "proxy/rate_limit_headers.h"

#include <string>

namespace sluice {

void audit_refusal(const Decision& decision, std::string_view method, std::string_view path,
                   std::string_view client_ip) {
    std::string line = "audit {\"event\":\"refused\",\"reason\":";
    if (decision.blocked_for > 0) {
        line += "\"blocked\",\"retry_after\":" + std::to_string(ceil_seconds(decision.blocked_for));
    } else {
        const QuotaOutcome& o = decision.outcomes[decision.refusing];
        line += "\"limited\",\"quota\":" + json_quote(o.quota->spec.name) +
                ",\"key\":" + json_quote(to_string(o.quota->spec.key.kind)) +
                ",\"retry_after\":" + std::to_string(ceil_seconds(o.retry_after));
    }
    line += ",\"client_ip\":" + json_quote(client_ip) + ",\"method\":" + json_quote(method) +
            ",\"path\":" + json_quote(path) + "}";
    log_line(LogLevel::info, line);
}

}  // namespace sluice
