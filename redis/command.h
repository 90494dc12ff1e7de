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

// The parts, for a command whose arguments are written one by one: the array
// header (the number of arguments), then each argument as a bulk string, or
// a bulk header of `bytes` followed by exactly that many bytes and "\r\n".
void append_array_header(std::string& out, std::size_t count);
void append_bulk_string(std::string& out, std::string_view bytes);
void append_bulk_header(std::string& out, std::size_t bytes);

}  // namespace sluice
