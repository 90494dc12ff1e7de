#include "sluicectl/file_text.h"

#include "sluicectl/failure.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sluice::ctl {

std::optional<std::string> read_text(const std::filesystem::path& file, std::string& why) {
    // A folder opens like a file and reads as empty.
    if (std::error_code ignored; std::filesystem::is_directory(file, ignored)) {
        why = std::strerror(EISDIR);
        return std::nullopt;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        why = std::strerror(errno);
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

nlohmann::json read_json_object(const std::filesystem::path& file) {
    std::string why;
    const std::optional<std::string> text = read_text(file, why);
    if (!text) usage_error("cannot read " + file.string() + ": " + why);
    nlohmann::json object;
    try {
        object = nlohmann::json::parse(*text);
    } catch (const nlohmann::json::parse_error& e) {
        usage_error(file.string() + ": invalid JSON: " + e.what());
    }
    if (!object.is_object()) usage_error(file.string() + ": not a JSON object");
    return object;
}

}  // namespace sluice::ctl
