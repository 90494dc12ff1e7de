// The commands that talk to sluiced: one request (or a few) each, the answer
// as aligned tables for people or, with --json, as JSON for scripts:
//   quota list   -> an array of every quota's data
//   quota get    -> the quota's data
//   usage        -> the usage answer as sent
//   block list   -> the array of blocks
//   stats        -> the summary of /metrics (see stats.h)
// quota set/delete and block add/remove print a line for people and nothing
// with --json.
#pragma once

#include "sluicectl/admin_client.h"
#include "sluicectl/arguments.h"

#include <ostream>

namespace sluice::ctl {

// Runs any command but help and version. Throws Failure: refused for an
// error answer (its errors in the message), auth for 401 and 403.
void run_command(const Invocation& invocation, AdminClient& client, std::ostream& out);

}  // namespace sluice::ctl
