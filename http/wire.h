// Writing HTTP/1.x messages as one string: the proxy sends each message with
// one send, without Beast's buffer-sequence serializer.
#pragma once

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice {

// An RFC 9110 token: methods and header field names.
bool is_token(std::string_view text);

void append_status_line(std::string& out, unsigned version, unsigned status, std::string_view reason);
void append_request_line(std::string& out, std::string_view method, std::string_view target);  // HTTP/1.1
void append_field(std::string& out, std::string_view name, std::string_view value);
void append_field(std::string& out, boost::beast::http::field name, std::string_view value);
void append_content_length(std::string& out, std::size_t length);
inline void end_head(std::string& out) { out += "\r\n"; }

// Beast's string_view as the standard one, and back.
inline std::string_view view(boost::beast::string_view s) { return {s.data(), s.size()}; }
inline boost::beast::string_view beast_view(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace sluice
