#include "sluicectl/file_text.h"

#include "sluicectl/failure.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sluice::ctl {

Checked<std::string> read_text(const std::filesystem::path& file) {
    // A folder opens like a file and reads as empty.
    if (std::error_code ignored; std::filesystem::is_directory(file, ignored))
        return Checked<std::string>::failed(std::strerror(EISDIR));
    std::ifstream in(file, std::ios::binary);
    if (!in) return Checked<std::string>::failed(std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

nlohmann::json read_json_object(const std::filesystem::path& file) {
    const Checked<std::string> text = read_text(file);
    if (!text.ok()) usage_error("cannot read " + file.string() + ": " + text.error());
    nlohmann::json object;
    try {
        object = nlohmann::json::parse(text.value());
    } catch (const nlohmann::json::parse_error& e) {
        usage_error(file.string() + ": invalid JSON: " + e.what());
    }
    if (!object.is_object()) usage_error(file.string() + ": not a JSON object");
    return object;
}

}  // namespace sluice::ctl
