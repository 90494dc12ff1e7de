// Who the client is: the socket peer, or, when the peer is a trusted proxy,
// the right-most address in X-Forwarded-For that is not a trusted proxy.
#pragma once

#include "common/cidr.h"

#include <string>
#include <string_view>
#include <vector>

namespace sluice {

bool is_trusted_proxy(const IpAddress& peer, const std::vector<Cidr>& trusted_proxies);

// Returns the client's address as canonical text. An entry that is not an
// address ends the walk and is used as is (it is the untrusted client's claim).
std::string resolve_client_ip(const IpAddress& peer, std::string_view forwarded_for,
                              const std::vector<Cidr>& trusted_proxies);

// The token of "Authorization: Bearer <token>", or empty.
std::string_view bearer_token(std::string_view authorization);

}  // namespace sluice
