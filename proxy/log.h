// sluiced's log: one line per event on stderr. Under systemd, whose journal
// is then stderr, each line starts with its syslog level as "<N>" so that
// journalctl -p and the colours work; elsewhere it starts with "sluiced: ".
#pragma once

#include <cstdarg>
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

}  // namespace sluice
