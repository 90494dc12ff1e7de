#include "proxy/accept_backoff.h"

#include "proxy/log.h"

namespace sluice {

std::optional<std::string> AcceptFailures::note(const std::string& reason, TimePoint now) {
    if (last_logged_ && now - *last_logged_ < kAcceptLogInterval) {
        ++unlogged_;
        return std::nullopt;
    }
    std::string line = what_ + ": " + reason;
    if (!last_logged_)
        line += " (retrying every " + std::to_string(kAcceptBackoff.count()) + " ms; logged at most every " +
                std::to_string(kAcceptLogInterval.count()) + " s)";
    else if (unlogged_ > 0)
        line += " (" + std::to_string(unlogged_) + (unlogged_ == 1 ? " more failure" : " more failures") +
                " since the last line)";
    last_logged_ = now;
    unlogged_ = 0;
    return line;
}

void AcceptFailures::log_due(const std::string& reason) {
    if (const std::optional<std::string> line = note(reason, std::chrono::steady_clock::now()))
        log_line(LogLevel::warning, *line);
}

}  // namespace sluice
