// The settings of /v1/sys/quotas/config as JSON, with Vault's field names:
// read from an API request or the state file, written for GET and the state
// file.
#pragma once

#include "config/quota_json.h"
#include "limit/policy.h"

namespace sluice {

// `base` with the fields `object` gives replaced (a subset is an update, as
// in Vault). Errors are recorded on `object`'s document.
QuotaSettings parse_quota_settings(const JsonField& object, QuotaSettings base);

Json quota_settings_to_json(const QuotaSettings& settings);

}  // namespace sluice
