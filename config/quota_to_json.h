// A Quota written out as JSON: the form sluiced persists (read back by
// parse_quota) and the form the admin API's GET answers with (Vault's view).
#pragma once

#include "config/quota_json.h"
#include "limit/quota.h"

#include <chrono>
#include <string>
#include <string_view>

namespace sluice {

// Every field parse_quota reads, such that parse_quota(quota_to_json(q)) == q:
// durations as exact strings ("1500ms"), fields at their default included
// except an empty `method` and unset `burst`, `response` and `headers`.
Json quota_to_json(const Quota& quota);

// The `data` of GET /v1/sys/quotas/rate-limit/:name: Vault's fields first
// (intervals in seconds, "type": "rate-limit"), then Sluice's, with the
// effective burst (token bucket; null otherwise) and where the quota is
// defined ("api" or a file). Written back, it makes the same quota.
Json quota_view_json(const Quota& quota, std::string_view defined_in);

// A duration in the largest unit that states it exactly: "2m", "1500ms".
std::string exact_duration(std::chrono::nanoseconds duration);

// A number as Vault writes it: whole values without a fraction ("10", not "10.0").
Json json_number(double value);

}  // namespace sluice
