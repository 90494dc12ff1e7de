// Where a Redis server is: a store's "url" (redis://[user@]host[:port][/db])
// or one of its cluster seeds (host:port). The password never sits in either:
// it is read from a file, so it stays out of configs, logs and messages.
#pragma once

#include "common/checked.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

struct RedisEndpoint {
    std::string host;  // a name or an IP literal (IPv6 without brackets)
    std::uint16_t port = 6379;
    std::string user;  // the ACL user to AUTH as; empty: the default user
    int db = 0;
    bool operator==(const RedisEndpoint&) const = default;
};

// redis://[user@]host[:port][/db], IPv6 as [::1]; the user may hold
// %-escapes. A password in the URL (user:pass@) is refused, and no message
// repeats it.
Checked<RedisEndpoint> parse_redis_url(std::string_view url);

// A cluster seed: host:port (port 6379 when left out), no scheme, user or
// database.
Checked<RedisEndpoint> parse_redis_seed(std::string_view seed);

// host:port, IPv6 in brackets, for logs and messages.
std::string describe(const RedisEndpoint& endpoint);

}  // namespace sluice
