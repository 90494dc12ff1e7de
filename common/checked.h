// The one way parsing and validation report bad input: a function that
// parses or checks one value returns Checked<T>, the value or the reason
// there is none ("\"5x\" is not a duration"), never an out-parameter and
// never an exception; a check with nothing to give back returns the reason
// alone, empty when the input is fine (path_error). A whole document is checked through config/'s
// JsonField, which records each such reason as a ConfigError at its JSON
// path. Exceptions are for what is not bad input: I/O failures (a port in
// use, a write that failed) and broken promises in the program.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace sluice {

template <class T>
class Checked {
public:
    Checked(T value) : value_(std::move(value)) {}  // NOLINT: a value converts, as `return value;`

    // `reason` says what is wrong with the input, for the user to read.
    static Checked failed(std::string reason) {
        Checked checked;
        checked.error_ = std::move(reason);
        return checked;
    }

    bool ok() const { return value_.has_value(); }
    // Only when ok().
    const T& value() const& { return *value_; }
    T&& value() && { return std::move(*value_); }
    // Empty when ok().
    const std::string& error() const { return error_; }

private:
    Checked() = default;

    std::optional<T> value_;
    std::string error_;
};

}  // namespace sluice
