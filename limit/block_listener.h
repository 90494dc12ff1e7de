// Told when a client is blocked or unblocked, so the next layer can follow:
// the limiter tells the block list, the block list tells the XDP side.
#pragma once

#include "common/cidr.h"
#include "common/clock.h"

#include <string_view>

namespace sluice {

class BlockListener {
public:
    virtual ~BlockListener() = default;
    // Blocked until `until` (limiter's clock). `origin` says who blocked:
    // "quota:<name>" for a quota's block_interval, "api" for the admin API.
    // A quota reports each refusal while its block lasts, from proxy threads.
    virtual void client_blocked(const IpAddress& client, Nanos until, std::string_view origin) = 0;
    virtual void client_unblocked(const IpAddress& client) = 0;
};

}  // namespace sluice
