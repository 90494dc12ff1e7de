#include "support/fuzz_check.h"

#include <cstdio>
#include <cstdlib>

namespace sluice::fuzz {

void fail(std::string_view what, std::string_view detail) {
    std::fprintf(stderr, "property violated: %.*s\n", static_cast<int>(what.size()), what.data());
    if (!detail.empty()) std::fprintf(stderr, "--- detail:\n%.*s\n", static_cast<int>(detail.size()), detail.data());
    std::abort();
}

}  // namespace sluice::fuzz
