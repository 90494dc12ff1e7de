// What the network namespace fixtures share: running a system tool, the
// names every test network object starts with (and removing what a killed
// run left of them), a free subnet, curl and TCP connects from inside a
// namespace, and reading a running XDP program's counters and block map
// through its pin path.
#pragma once

#include "xdp/abi.h"
#include "xdp/maps.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::test {

// Every namespace, interface and pin folder a test makes is named with one
// of these, then the test process's pid: slc<pid>..., slv<pid>...,
// /sys/fs/bpf/sluice-test-<pid>...; remove_leftovers() finds them by it.
inline constexpr const char* kNetnsPrefix = "slc";
inline constexpr const char* kVethPrefix = "slv";  // every interface in the root namespace (veth, bridge)
inline constexpr const char* kPinPrefix = "sluice-test-";

inline constexpr std::string_view kNeedsRoot =
    "these tests need root for network namespaces and XDP (run them as root); not run";

struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs `program` (an absolute path) to completion; killed after `timeout`.
CommandResult run_command(const std::string& program, const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
// Throws std::runtime_error "<what> failed (exit N): <stderr>" unless it exited 0.
void must(const CommandResult& result, const std::string& what);

// The absolute path of a system tool (ChildProcess uses execv, no PATH
// search); find_tool gives "" where it is not installed, tool throws.
std::string find_tool(const std::string& name);
std::string tool(const std::string& name);

// What an earlier run that was killed (a ctest timeout, SIGKILL) left behind:
// namespaces, root-namespace interfaces and pins named with the prefixes
// above and the pid of a process that no longer exists.
void remove_leftovers();

// "<first_two_octets>.N" (as "10.213.7"): a /24 no interface uses, so a
// leftover or another test run does not own the same route; tried from N =
// start % 250 + 1 on.
std::string free_subnet(const std::string& first_two_octets, unsigned start);

struct CurlResult {
    int exit_code = -1;  // curl's: 0 ok, 7 refused, 28 timed out
    int status = 0;      // HTTP status, 0 without a response
    std::string body;
};

// curl `url` inside `netns` with `options` ({"--interface", "10.213.7.2"},
// {"-X", "PUT", "--data", "..."}), giving up on the connect after
// `connect_timeout` and on the whole request 4 s later.
CurlResult curl_in(const std::string& netns, const std::vector<std::string>& options, const std::string& url,
                   std::chrono::seconds connect_timeout = std::chrono::seconds(1));

// Whether a TCP connection from `source` to `destination`:`port`, opened
// inside `netns`, is established within `timeout`. Sends nothing and closes
// it at once: the server sees no request (a quota counts nothing).
bool tcp_connects(const std::string& netns, const std::string& source, const std::string& destination,
                  std::uint16_t port, std::chrono::milliseconds timeout);

// The counters of the XDP program pinned under `pin_path`, for the
// interface in stats slot 0.
XdpCounters xdp_counters(const std::string& pin_path);
// Its block map's entry for IPv4 `ip`, if any.
std::optional<sluice_block_entry> xdp_block_entry(const std::string& pin_path, const std::string& ip);
// The addresses in its block map ("198.18.0.1", expired entries too until
// sluiced sweeps them).
std::set<std::string> xdp_blocked_addresses(const std::string& pin_path);

}  // namespace sluice::test
