// sluiced's log: one line per event on stderr. Under systemd, whose journal
// is then stderr, each line starts with its syslog level as "<N>" so that
// journalctl -p and the colours work; elsewhere it starts with "sluiced: ".
#pragma once

#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

enum class LogLevel { error = 3, warning = 4, notice = 5, info = 6 };

// printf-style; the line break is added.
void log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));
// What log_line writes: each line of `text` with the prefix, "<N>" for the
// journal or "sluiced: ", and a line break.
std::string format_log_lines(LogLevel level, std::string_view text, bool journal);
// Whether stderr is the stream $JOURNAL_STREAM names (log_line asks once).
bool stderr_is_journal();

// vsnprintf into a string of the right size.
std::string format_text(const char* format, va_list args);
// Text as it is (no format), e.g. a JSON audit record; each of its lines
// gets the prefix.
void log_line(LogLevel level, std::string_view text);

// For an event that can recur per request or per accept (an upstream down,
// out of file descriptors): the first line, then at most one per interval,
// saying how many were left out, so that a storm cannot fill the disk. One
// per thread; not thread-safe.
class LogThrottle {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    explicit LogThrottle(std::chrono::steady_clock::duration interval) : interval_(interval) {}

    // The line to write for an event at `now`, if one is due.
    std::optional<std::string> note(std::string_view text, TimePoint now);
    // note() at the current time, written to the log when due.
    void log(LogLevel level, std::string_view text);

private:
    std::chrono::steady_clock::duration interval_;
    std::optional<TimePoint> last_logged_;
    std::uint64_t left_out_ = 0;
};

}  // namespace sluice
