// How sluicectl ends when something went wrong: a message for the operator
// and an exit code a script can branch on.
#pragma once

#include <stdexcept>
#include <string>

namespace sluice::ctl {

enum class ExitCode : int {
    ok = 0,
    refused = 1,      // the server answered with an error
    usage = 2,        // the command line (or a file it names) is wrong
    unreachable = 3,  // no connection, or no answer
    auth = 4,         // no token, or the wrong one
};

// Thrown anywhere below main; main prints "sluicectl: " before each line of
// what() and exits with `code`.
class Failure : public std::runtime_error {
public:
    Failure(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ExitCode code() const { return code_; }

private:
    ExitCode code_;
};

[[noreturn]] inline void usage_error(const std::string& message) { throw Failure(ExitCode::usage, message); }

}  // namespace sluice::ctl
