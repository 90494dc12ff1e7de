// Random identifiers from the kernel's random source (getrandom(2)): the admin
// token and the request ids of the admin API.
#pragma once

#include <cstddef>
#include <string>

namespace sluice {

// `bytes` random bytes as lower-case hex (2 * bytes characters).
std::string random_hex(std::size_t bytes);

// An RFC 9562 version 4 UUID, e.g. "3f1c0a52-7b9e-4d0f-9a6c-2e5b8d71c4a0".
std::string random_uuid();

}  // namespace sluice
