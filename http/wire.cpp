#include "http/wire.h"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sluice {

namespace beast = boost::beast;
namespace http = beast::http;

bool is_token(std::string_view text) {
    constexpr std::string_view specials = "!#$%&'*+-.^_`|~";
    return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
        const unsigned char u = static_cast<unsigned char>(c);
        return u < 0x80 && (std::isalnum(u) || specials.find(c) != std::string_view::npos);
    });
}

void append_status_line(std::string& out, unsigned version, unsigned status, std::string_view reason) {
    out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    char digits[8];
    const auto end = std::to_chars(digits, digits + sizeof digits, status).ptr;
    out.append(digits, end);
    out += ' ';
    out += reason;
    out += "\r\n";
}

void append_request_line(std::string& out, std::string_view method, std::string_view target) {
    out += method;
    out += ' ';
    out += target;
    out += " HTTP/1.1\r\n";
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
}

void append_field(std::string& out, http::field name, std::string_view value) {
    const beast::string_view text = http::to_string(name);
    append_field(out, std::string_view(text.data(), text.size()), value);
}

void append_content_length(std::string& out, std::size_t length) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, length).ptr;
    append_field(out, http::field::content_length, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

}  // namespace sluice
