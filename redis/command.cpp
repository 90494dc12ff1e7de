#include "redis/command.h"

#include <charconv>

namespace sluice {

namespace {

// "*3\r\n", "$5\r\n": a type byte, a count and the line end.
void append_header(std::string& out, char type, std::size_t count) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, count).ptr;
    out += type;
    out.append(digits, end);
    out += "\r\n";
}

}  // namespace

void append_array_header(std::string& out, std::size_t count) { append_header(out, '*', count); }

void append_bulk_header(std::string& out, std::size_t bytes) { append_header(out, '$', bytes); }

void append_bulk_string(std::string& out, std::string_view bytes) {
    append_bulk_header(out, bytes.size());
    out += bytes;
    out += "\r\n";
}

void append_command(std::string& out, std::initializer_list<std::string_view> args) {
    append_command(out, std::span<const std::string_view>(args.begin(), args.size()));
}

void append_command(std::string& out, std::span<const std::string_view> args) {
    append_array_header(out, args.size());
    for (const std::string_view arg : args) append_bulk_string(out, arg);
}

}  // namespace sluice
