// What an accept loop does after a failed accept (e.g. EMFILE, out of file
// descriptors): pause, since accepting again at once fails again, and log
// at most one line per interval, so that the condition costs neither CPU nor
// a flood of log lines. Shared by the proxy's and the admin API's loops.
#pragma once

#include <utility>  // before awaitable.hpp, which uses std::exchange without it (Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include "common/log.h"

#include <chrono>
#include <optional>
#include <string>

namespace sluice {

constexpr std::chrono::milliseconds kAcceptBackoff{100};
constexpr std::chrono::seconds kAcceptLogInterval{10};

class AcceptFailures {
public:
    // `what` starts each line, e.g. "admin accept".
    explicit AcceptFailures(std::string what) : what_(std::move(what)) {}

    // Logs `error` when due (as a warning), then waits kAcceptBackoff.
    template <typename Executor>
    boost::asio::awaitable<void, Executor> pause(const boost::system::error_code& error, Executor executor) {
        log_.log(LogLevel::warning, line(error.message()));
        using Clock = std::chrono::steady_clock;
        boost::asio::basic_waitable_timer<Clock, boost::asio::wait_traits<Clock>, Executor> timer(executor,
                                                                                                  kAcceptBackoff);
        boost::system::error_code ignored;  // cancelled at shutdown: the loop then sees its acceptor closed
        co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable_t<Executor>{}, ignored));
    }

    // What is logged for a failure: "admin accept: Too many open files (retrying ...)".
    std::string line(const std::string& reason) const;

private:
    std::string what_;
    LogThrottle log_{kAcceptLogInterval};
};

}  // namespace sluice
