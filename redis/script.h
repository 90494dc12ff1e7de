// A Lua script as Redis runs it: its text, and the SHA-1 digest EVALSHA
// calls it by once Redis has seen the text.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

class RedisScript {
public:
    explicit RedisScript(std::string_view text);

    std::string_view text() const { return text_; }
    std::string_view digest() const { return digest_; }  // 40 lowercase hex characters

private:
    std::string_view text_;  // compiled in: lives as long as the program
    std::string digest_;
};

}  // namespace sluice
