// How a target reports a broken property: the message, then abort(), which
// libFuzzer turns into a crash with the input saved as an artifact (and the
// replay in a GCC build into a failed test).
#pragma once

#include <string_view>

namespace sluice::fuzz {

[[noreturn]] void fail(std::string_view what, std::string_view detail = {});

inline void check(bool property, std::string_view what, std::string_view detail = {}) {
    if (!property) fail(what, detail);
}

}  // namespace sluice::fuzz
