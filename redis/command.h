// Redis commands on the wire (RESP): an array of bulk strings, which Redis
// takes for any command and any bytes in its arguments.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace sluice {

// Appends the command made of `args` ("INCR", "key") to `out`, so that a
// pipeline is built in one buffer whose capacity is reused.
void append_command(std::string& out, std::initializer_list<std::string_view> args);
void append_command(std::string& out, std::span<const std::string_view> args);

}  // namespace sluice
