#include "common/log.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/stat.h>

namespace sluice {

// systemd sets JOURNAL_STREAM to "device:inode" of the stream it connected
// to stderr; a match means stderr is the journal (not redirected since).
bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    struct stat st {};
    if (!stream || fstat(2, &st) != 0) return false;
    unsigned long long device = 0, inode = 0;
    return std::sscanf(stream, "%llu:%llu", &device, &inode) == 2 && device == st.st_dev && inode == st.st_ino;
}

std::string format_log_lines(LogLevel level, std::string_view text, bool journal) {
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    const std::string head = journal ? "<" + std::to_string(static_cast<int>(level)) + ">" : "sluiced: ";
    std::string out;
    for (;;) {
        const std::size_t end = text.find('\n');
        out += head;
        out.append(text.substr(0, end));
        out += '\n';
        if (end == std::string_view::npos) return out;
        text.remove_prefix(end + 1);
    }
}

void log_line(LogLevel level, std::string_view text) {
    static const bool journal = stderr_is_journal();
    const std::string out = format_log_lines(level, text, journal);
    // One write for it all: lines of concurrent threads never interleave.
    std::fwrite(out.data(), 1, out.size(), stderr);
}

std::string format_text(const char* format, va_list args) {
    va_list again;
    va_copy(again, args);
    const int length = std::vsnprintf(nullptr, 0, format, args);
    std::string text(length > 0 ? static_cast<std::size_t>(length) + 1 : 1, '\0');
    if (length > 0) std::vsnprintf(text.data(), text.size(), format, again);
    va_end(again);
    text.pop_back();
    return text;
}

void log(LogLevel level, const char* format, ...) {
    va_list args;
    va_start(args, format);
    const std::string text = format_text(format, args);
    va_end(args);
    log_line(level, text);
}

std::optional<std::string> LogThrottle::note(std::string_view text, TimePoint now) {
    if (last_logged_ && now - *last_logged_ < interval_) {
        ++left_out_;
        return std::nullopt;
    }
    std::string line(text);
    if (left_out_ > 0) line += " (" + std::to_string(left_out_) + " more like it since the last line)";
    last_logged_ = now;
    left_out_ = 0;
    return line;
}

void LogThrottle::log(LogLevel level, std::string_view text) {
    if (const std::optional<std::string> line = note(text, std::chrono::steady_clock::now())) log_line(level, *line);
}

}  // namespace sluice
