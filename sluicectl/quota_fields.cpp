#include "sluicectl/quota_fields.h"

#include "sluicectl/failure.h"
#include "sluicectl/file_text.h"

#include <charconv>
#include <cmath>

namespace sluice::ctl {

namespace {

bool is_number_field(std::string_view field) { return field == "rate" || field == "burst"; }
bool is_boolean_field(std::string_view field) { return field == "inheritable" || field == "cumulative"; }

}  // namespace

nlohmann::json field_value(const std::string& field, std::string_view text) {
    const std::string quoted = "\"" + std::string(text) + "\"";
    if (is_number_field(field)) {
        double number = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
        if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(number))
            usage_error(field + ": " + quoted + " is not a number");
        return number;
    }
    if (is_boolean_field(field)) {
        if (text == "true") return true;
        if (text == "false") return false;
        usage_error(field + ": " + quoted + " is not true or false");
    }
    if (field == "response") {
        const nlohmann::json response = nlohmann::json::parse(text, nullptr, false);
        if (response.is_discarded() || !response.is_object())
            usage_error("response: " + quoted + " is not a JSON object");
        return response;
    }
    return std::string(text);
}

nlohmann::json quota_body(const std::optional<std::filesystem::path>& file,
                          const std::vector<std::string>& assignments) {
    nlohmann::json body = file ? read_json_object(*file) : nlohmann::json::object();
    for (const std::string& assignment : assignments) {
        const std::size_t equals = assignment.find('=');  // parse_arguments made sure there is one
        const std::string field = assignment.substr(0, equals);
        body[field] = field_value(field, std::string_view(assignment).substr(equals + 1));
    }
    return body;
}

}  // namespace sluice::ctl
