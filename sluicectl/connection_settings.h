// Where sluiced's admin API is and which token to send. Each of the two is
// taken from the first source that has it:
//   1. the flags (--address; --token or --token-file)
//   2. the environment: SLUICE_ADDR, then VAULT_ADDR ("http://host:port");
//      SLUICE_TOKEN, then VAULT_TOKEN
//   3. the config file (--config, else SLUICE_CONFIG, else
//      /etc/sluice/sluice.json when it exists): admin.listen, and the token in
//      admin.token_file (default <state_dir>/admin.token); relative paths are
//      relative to the config file's folder
//   4. the address 127.0.0.1:9901; no token
#pragma once

#include "http/host_port.h"
#include "sluicectl/arguments.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace sluice::ctl {

inline constexpr char kDefaultConfigFile[] = "/etc/sluice/sluice.json";

// A variable's value; nullopt when unset or empty. Injected so that tests
// need not touch the process environment.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
Environment process_environment();

struct ConnectionSettings {
    ListenAddress address;
    std::optional<std::string> token;
    // Why there is no token although the config names a token file (it could
    // not be read): said when the server asks for a token.
    std::string token_problem;
};

// Throws Failure(usage) for an address that is not HOST:PORT, and for a
// config file or --token-file that was asked for and cannot be read.
ConnectionSettings resolve_connection(const ConnectionFlags& flags, const Environment& environment,
                                      const std::filesystem::path& default_config = kDefaultConfigFile);

}  // namespace sluice::ctl
