// Told when a quota keyed by client IP blocks that client (block_interval),
// so the controller can drop the client's packets at the NIC as well.
#pragma once

#include "proxy/clock.h"

#include <string_view>

namespace sluice {

class BlockListener {
public:
    virtual ~BlockListener() = default;
    // `client_ip` is canonical text; `until` is on the limiter's clock. Called
    // for each refusal while the block lasts, from the proxy's threads.
    virtual void client_blocked(std::string_view client_ip, Nanos until) = 0;
};

}  // namespace sluice
