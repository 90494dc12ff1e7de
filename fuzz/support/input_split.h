// Cutting one fuzz input into the several strings a target needs (a config
// and a quota file, a method and a path and a body). The separator is a line
// of its own that a seed can spell and a dictionary can offer, so the fuzzer
// keeps the parts apart while it mutates them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sluice::fuzz {

inline constexpr std::string_view kPartSeparator = "\n--8<--\n";

// Exactly `count` parts: missing ones are empty, the last takes the rest
// (separators included).
std::vector<std::string_view> split_input(std::string_view input, std::size_t count);

// Takes the input's bytes as they come: a few numbers first, the rest as text.
class InputReader {
public:
    explicit InputReader(std::string_view input) : rest_(input) {}
    InputReader(const std::uint8_t* data, std::size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

    std::uint8_t byte();                    // 0 when the input is used up
    std::uint64_t u64();                    // little-endian; missing bytes are 0
    std::string_view bytes(std::size_t n);  // at most n
    std::string_view rest() const { return rest_; }

private:
    std::string_view rest_;
};

}  // namespace sluice::fuzz
