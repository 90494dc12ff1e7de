// What a piece of sluicectl throws, for the unit tests to compare.
#pragma once

#include "sluicectl/failure.h"

#include <functional>
#include <string>

namespace sluice::ctl {

// The Failure `action` throws; ExitCode::ok with "(no failure)" when it
// throws none.
inline Failure failure_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const Failure& failure) {
        return failure;
    }
    return Failure(ExitCode::ok, "(no failure)");
}

// The message of the usage error `action` throws; another outcome reads as
// "(not a usage error) <message>" so that the comparison fails.
inline std::string usage_error_of(const std::function<void()>& action) {
    const Failure failure = failure_of(action);
    const std::string message = failure.what();
    return failure.code() == ExitCode::usage ? message : "(not a usage error) " + message;
}

}  // namespace sluice::ctl
