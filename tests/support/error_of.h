// What a call throws, for the tests that compare error messages: the what()
// of the `Error` it throws, or "(no error)" when it returns. Any other
// exception goes on to the test, which fails with it.
//
//   EXPECT_EQ(testing::error_of([&] { load_fleet_key(file); }), "fleet key file ...");
//   testing::error_of<std::invalid_argument>([&] { parse_prometheus_text(text); })
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace sluice::testing {

template <class Error = std::runtime_error, class Call>
std::string error_of(Call&& call) {
    try {
        std::forward<Call>(call)();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace sluice::testing
