#include "config/quota_settings_json.h"

namespace sluice {

QuotaSettings parse_quota_settings(const JsonField& object, QuotaSettings base) {
    object.for_each_member([&](const std::string& name, const JsonField& value) {
        if (name == "enable_rate_limit_response_headers") {
            if (auto v = value.boolean()) base.response_headers = *v;
        } else if (name == "enable_rate_limit_audit_logging") {
            if (auto v = value.boolean()) base.audit_logging = *v;
        } else if (name == "rate_limit_exempt_paths") {
            std::vector<std::string> paths;
            const bool is_array = value.for_each_element([&](const JsonField& element) {
                const std::optional<std::string> path = element.string();
                if (!path) return;
                if (std::string why = exempt_path_error(*path); !why.empty())
                    element.error(std::move(why));
                else
                    paths.push_back(*path);
            });
            if (is_array) base.exempt_paths = std::move(paths);
        } else {
            return false;
        }
        return true;
    });
    return base;
}

Json quota_settings_to_json(const QuotaSettings& settings) {
    return Json{{"enable_rate_limit_audit_logging", settings.audit_logging},
                {"enable_rate_limit_response_headers", settings.response_headers},
                {"rate_limit_exempt_paths", settings.exempt_paths}};
}

}  // namespace sluice
