#include "http/accept_backoff.h"

namespace sluice {

std::string AcceptFailures::line(const std::string& reason) const {
    return what_ + ": " + reason + " (retrying every " + std::to_string(kAcceptBackoff.count()) +
           " ms; logged at most every " + std::to_string(kAcceptLogInterval.count()) + " s)";
}

}  // namespace sluice
