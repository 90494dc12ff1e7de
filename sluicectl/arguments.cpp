#include "sluicectl/arguments.h"

#include "sluicectl/failure.h"

#include <cstddef>
#include <limits>
#include <string_view>

namespace sluice::ctl {

namespace {

struct CommandSpec {
    std::string_view words;  // "quota get"
    CommandKind kind;
    std::size_t min_operands;
    std::size_t max_operands;
    std::string_view operands;  // for messages: "NAME [KEY]"
};

constexpr std::size_t kAnyNumber = std::numeric_limits<std::size_t>::max();

constexpr CommandSpec kCommands[] = {
    {"quota list", CommandKind::quota_list, 0, 0, ""},
    {"quota get", CommandKind::quota_get, 1, 1, "NAME"},
    {"quota set", CommandKind::quota_set, 1, kAnyNumber, "NAME field=value..."},
    {"quota delete", CommandKind::quota_delete, 1, 1, "NAME"},
    {"usage", CommandKind::usage, 1, 2, "NAME [KEY]"},
    {"block list", CommandKind::block_list, 0, 0, ""},
    {"block add", CommandKind::block_add, 1, 1, "IP"},
    {"block remove", CommandKind::block_remove, 1, 1, "IP"},
    {"nodes", CommandKind::nodes, 0, 0, ""},
    {"stats", CommandKind::stats, 0, 0, ""},
};

// The options that take a value, and where each one goes.
std::optional<std::string>* value_slot(Invocation& invocation, std::string_view option) {
    if (option == "--address") return &invocation.connection.address;
    if (option == "--token") return &invocation.connection.token;
    if (option == "--token-file") return &invocation.connection.token_file;
    if (option == "--config") return &invocation.connection.config;
    if (option == "--file") return &invocation.file;
    if (option == "--duration") return &invocation.duration;
    return nullptr;
}

// The command the first one or two words name, and how many words that took.
std::pair<const CommandSpec*, std::size_t> find_command(const std::vector<std::string>& words) {
    for (const CommandSpec& spec : kCommands) {
        if (spec.words == words[0]) return {&spec, 1};
        if (words.size() > 1 && spec.words == words[0] + " " + words[1]) return {&spec, 2};
    }
    std::string choices;
    for (const CommandSpec& spec : kCommands) {
        const std::string_view group = spec.words.substr(0, spec.words.find(' '));
        if (group != words[0]) continue;
        choices += (choices.empty() ? "" : ", ") + std::string(spec.words.substr(group.size() + 1));
    }
    if (choices.empty()) usage_error("unknown command \"" + words[0] + "\"");
    if (words.size() == 1) usage_error(words[0] + " needs one of: " + choices);
    usage_error("unknown command \"" + words[0] + " " + words[1] + "\" (" + words[0] + " takes: " + choices + ")");
}

void check_command_options(const Invocation& invocation) {
    if (invocation.file && invocation.command != CommandKind::quota_set) usage_error("--file is only for quota set");
    if (invocation.duration && invocation.command != CommandKind::block_add)
        usage_error("--duration is only for block add");
    if (invocation.connection.token && invocation.connection.token_file)
        usage_error("give --token or --token-file, not both");
    if (invocation.command != CommandKind::quota_set) return;
    if (invocation.assignments.empty() && !invocation.file)
        usage_error("quota set needs field=value... or --file FILE");
    for (const std::string& assignment : invocation.assignments) {
        if (assignment.find('=') == std::string::npos || assignment.starts_with('='))
            usage_error("quota set: \"" + assignment + "\" is not field=value");
    }
}

}  // namespace

Invocation parse_arguments(const std::vector<std::string>& args) {
    Invocation invocation;
    std::vector<std::string> words;
    bool help = false;
    bool version = false;
    bool options_ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (options_ended || !arg.starts_with('-')) {
            words.push_back(arg);
        } else if (arg == "--") {
            options_ended = true;  // so that a quota named "-x" can be given
        } else if (arg == "--json") {
            invocation.json = true;
        } else if (arg == "--help" || arg == "-h") {
            help = true;
        } else if (arg == "--version") {
            version = true;
        } else {
            const std::size_t equals = arg.find('=');
            const std::string option = arg.substr(0, equals);
            std::optional<std::string>* slot = value_slot(invocation, option);
            if (slot == nullptr) usage_error("unknown option " + option);
            if (slot->has_value()) usage_error(option + " is given twice");
            if (equals != std::string::npos)
                *slot = arg.substr(equals + 1);
            else if (i + 1 < args.size())
                *slot = args[++i];
            if (!slot->has_value() || (*slot)->empty()) usage_error(option + " needs a value");
        }
    }

    if (help || (!words.empty() && words[0] == "help")) return invocation;  // CommandKind::help
    if (version) {
        invocation.command = CommandKind::version;
        return invocation;
    }
    if (words.empty()) usage_error("no command given");

    const auto [spec, used] = find_command(words);
    const std::vector<std::string> operands(words.begin() + static_cast<std::ptrdiff_t>(used), words.end());
    if (operands.size() < spec->min_operands)
        usage_error(std::string(spec->words) + " needs " + std::string(spec->operands));
    if (operands.size() > spec->max_operands) {
        usage_error(std::string(spec->words) + ": unexpected \"" + operands[spec->max_operands] + "\"");
    }
    invocation.command = spec->kind;
    if (!operands.empty()) invocation.target = operands[0];
    if (spec->kind == CommandKind::usage && operands.size() == 2) invocation.key = operands[1];
    if (spec->kind == CommandKind::quota_set) invocation.assignments.assign(operands.begin() + 1, operands.end());
    check_command_options(invocation);
    return invocation;
}

}  // namespace sluice::ctl
