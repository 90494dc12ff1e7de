// sluicectl's command line: global options (accepted before or after the
// command words) and one command with its operands. Every mistake is a
// Failure with ExitCode::usage, found before anything is sent.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sluice::ctl {

// Where the admin API is and how to authenticate, as given on the command
// line; what is absent is looked up in the environment and the config file.
struct ConnectionFlags {
    std::optional<std::string> address;     // --address HOST:PORT
    std::optional<std::string> token;       // --token T
    std::optional<std::string> token_file;  // --token-file F
    std::optional<std::string> config;      // --config FILE
};

enum class CommandKind {
    help,
    version,
    quota_list,
    quota_get,
    quota_set,
    quota_delete,
    usage,
    block_list,
    block_add,
    block_remove,
    nodes,
    stats,
};

struct Invocation {
    ConnectionFlags connection;
    bool json = false;  // print the server's data as JSON instead of tables
    CommandKind command = CommandKind::help;
    std::string target;                    // the quota name, or the IP of a block command
    std::optional<std::string> key;        // usage NAME [KEY]
    std::vector<std::string> assignments;  // quota set NAME field=value...
    std::optional<std::string> file;       // quota set NAME --file F
    std::optional<std::string> duration;   // block add IP --duration D
};

// `args` without the program name.
Invocation parse_arguments(const std::vector<std::string>& args);

}  // namespace sluice::ctl
