// sluicectl: the command-line client of sluiced's admin API.
#include "sluicectl/admin_client.h"
#include "sluicectl/arguments.h"
#include "sluicectl/commands.h"
#include "sluicectl/connection_settings.h"
#include "sluicectl/failure.h"

#include <exception>
#include <iostream>
#include <string_view>

namespace {

using namespace sluice::ctl;

constexpr std::string_view kVersion = SLUICE_VERSION;

constexpr std::string_view kHelpText = R"(usage: sluicectl [options] COMMAND

Commands:
  quota list                     every quota: NAME PATH KEY RATE INTERVAL DEFINED_IN
  quota get NAME                 one quota's fields
  quota set NAME field=value...  create or replace a quota (fields not given take their
                                 defaults), e.g. rate=10 interval=1m path=/v1/*
                                 key=header:X-API-Key block_interval=5m mode=dry_run
  quota set NAME --file F        the same from a JSON object; field=value go on top
  quota delete NAME
  usage NAME [KEY]               a key's use of a quota: an IP, a token or an API key
                                 in clear (none for a global quota)
  block list                     the blocked clients (HTTP and XDP)
  block add IP [--duration D]    block a client for D (default 1h)
  block remove IP
  nodes                          the fleet's live hosts and this host's fleet sync
                                 (with store.type "redis"): NAME VERSION SYNC LAG SEEN
                                 ADDRESSES QUOTAS XDP
  stats                          requests per quota and outcome, tracked keys, blocks,
                                 what the proxy did, upstream errors, the Redis store
                                 and the fleet sync, XDP packets
  help                           this text

Options:
  --address HOST:PORT  the admin API
  --token T            the admin token
  --token-file F       a file holding the admin token
  --config F           sluiced's config, for admin.listen and admin.token_file
  --json               JSON for scripts: quota list and block list give an array,
                       quota get, usage and nodes the server's data, stats its summary
  --help, --version

The address and the token each come from the first of: the options;
SLUICE_ADDR and SLUICE_TOKEN, or VAULT_ADDR ("http://host:port") and VAULT_TOKEN;
the config file (--config, else SLUICE_CONFIG, else /etc/sluice/sluice.json if it
exists); else 127.0.0.1:9901 and no token.

Exit codes: 0 done, 1 the server refused, 2 usage error, 3 cannot connect,
4 no token or the wrong one.
)";

int report(const Failure& failure) {
    std::string_view message = failure.what();
    while (!message.empty()) {
        const std::size_t end = std::min(message.find('\n'), message.size());
        std::cerr << "sluicectl: " << message.substr(0, end) << '\n';
        message.remove_prefix(std::min(end + 1, message.size()));
    }
    return static_cast<int>(failure.code());
}

}  // namespace

int main(int argc, char** argv) {
    Invocation invocation;
    try {
        invocation = parse_arguments({argv + 1, argv + argc});
    } catch (const Failure& failure) {
        report(failure);
        std::cerr << "run \"sluicectl help\" for the commands and options\n";
        return static_cast<int>(failure.code());
    }
    try {
        if (invocation.command == CommandKind::help) {
            std::cout << kHelpText;
            return 0;
        }
        if (invocation.command == CommandKind::version) {
            std::cout << "sluicectl " << kVersion << '\n';
            return 0;
        }
        AdminClient client(resolve_connection(invocation.connection, process_environment()));
        run_command(invocation, client, std::cout);
        return 0;
    } catch (const Failure& failure) {
        return report(failure);
    } catch (const std::exception& e) {
        // Only an answer of an unexpected shape gets here.
        std::cerr << "sluicectl: " << e.what() << '\n';
        return static_cast<int>(ExitCode::refused);
    }
}
