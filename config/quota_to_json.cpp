#include "config/quota_to_json.h"

#include <cmath>
#include <cstdint>

namespace sluice {
namespace {

std::string key_text(const QuotaKey& key) {
    if (key.kind == KeyKind::header) return "header:" + key.header;
    return std::string(to_string(key.kind));
}

Json response_json(const RefusalResponse& response) {
    Json object = Json::object();
    object["status"] = response.status;
    // The body is kept serialized; an empty one means the proxy's default.
    if (!response.body.empty()) object["body"] = Json::parse(response.body);
    Json headers = Json::object();
    for (const auto& [name, value] : response.headers) headers[name] = value;
    object["headers"] = std::move(headers);
    return object;
}

Json seconds_json(std::chrono::nanoseconds duration) {
    if (duration.count() % 1'000'000'000 == 0) return duration.count() / 1'000'000'000;
    return static_cast<double>(duration.count()) / 1e9;
}

}  // namespace

std::string exact_duration(std::chrono::nanoseconds duration) {
    struct Unit {
        const char* name;
        std::int64_t nanos;
    };
    constexpr Unit kUnits[] = {
        {"h", 3'600'000'000'000}, {"m", 60'000'000'000}, {"s", 1'000'000'000}, {"ms", 1'000'000}, {"us", 1'000}};
    const std::int64_t count = duration.count();
    if (count == 0) return "0s";
    for (const Unit& unit : kUnits)
        if (count % unit.nanos == 0) return std::to_string(count / unit.nanos) + unit.name;
    return std::to_string(count) + "ns";
}

Json json_number(double value) {
    constexpr double kExactInt64 = 9007199254740992.0;  // 2^53: every whole double below is exact
    if (std::trunc(value) == value && std::fabs(value) < kExactInt64) return static_cast<std::int64_t>(value);
    return value;
}

Json quota_to_json(const Quota& quota) {
    Json object = Json::object();
    object["name"] = quota.name;
    object["path"] = quota.path;
    if (!quota.method.empty()) object["method"] = quota.method;
    object["key"] = key_text(quota.key);
    object["rate"] = json_number(quota.rate);
    object["interval"] = exact_duration(quota.interval);
    if (quota.burst) object["burst"] = json_number(*quota.burst);
    object["algorithm"] = to_string(quota.algorithm);
    object["block_interval"] = exact_duration(quota.block_interval);
    object["mode"] = to_string(quota.mode);
    object["cumulative"] = quota.cumulative;
    if (quota.response) object["response"] = response_json(*quota.response);
    if (quota.headers) object["headers"] = to_string(*quota.headers);
    object["role"] = quota.role;
    object["inheritable"] = quota.inheritable;
    return object;
}

Json quota_view_json(const Quota& quota, std::string_view defined_in) {
    Json data = Json::object();
    data["name"] = quota.name;
    data["path"] = quota.path;
    data["type"] = "rate-limit";
    data["rate"] = json_number(quota.rate);
    data["interval"] = seconds_json(quota.interval);
    data["block_interval"] = seconds_json(quota.block_interval);
    data["role"] = quota.role;
    data["inheritable"] = quota.inheritable;
    data["method"] = quota.method.empty() ? Json(nullptr) : Json(quota.method);  // null: any method
    data["key"] = key_text(quota.key);
    data["algorithm"] = to_string(quota.algorithm);
    // Only the token bucket has a burst; null elsewhere, so that a GET's data
    // can be written back as it is.
    data["burst"] =
        quota.algorithm == Algorithm::token_bucket ? json_number(quota.burst.value_or(quota.rate)) : Json(nullptr);
    data["mode"] = to_string(quota.mode);
    data["cumulative"] = quota.cumulative;
    data["response"] = quota.response ? response_json(*quota.response) : Json(nullptr);
    data["headers"] = quota.headers ? Json(to_string(*quota.headers)) : Json(nullptr);
    data["defined_in"] = defined_in;
    return data;
}

}  // namespace sluice
