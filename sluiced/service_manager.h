// Talks to the service manager that started sluiced, over systemd's notify
// protocol (sd_notify(3)): READY=1 once serving, STATUS= lines, STOPPING=1,
// RELOADING=1, and WATCHDOG=1 pings. Without $NOTIFY_SOCKET every call is a
// no-op, so sluiced runs the same by hand.
#pragma once

#include "common/clock.h"

#include <string>
#include <string_view>

namespace sluice {

class ServiceManager {
public:
    // From $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID (the watchdog is
    // on only when it is meant for this process), and $INVOCATION_ID.
    static ServiceManager from_environment();

    // `socket`: a path, or "@name" for an abstract socket; empty for none.
    ServiceManager(std::string socket, Nanos watchdog_interval, bool started_by_systemd);

    // Sends `message` ("READY=1\nSTATUS=...") as one datagram. Returns false,
    // with `error` saying why, when it could not be sent (true when there is
    // no manager to tell).
    bool notify(std::string_view message, std::string& error) const;

    // WatchdogSec= of the unit, or 0 when no watchdog is asked for.
    Nanos watchdog_interval() const { return watchdog_interval_; }

    // Run as a systemd service: a stop and a restart then look the same to
    // sluiced (SIGTERM), so the unit, not sluiced, decides what a stop does.
    bool started_by_systemd() const { return started_by_systemd_; }

private:
    std::string socket_;
    Nanos watchdog_interval_ = 0;
    bool started_by_systemd_ = false;
};

}  // namespace sluice
