// Reading config JSON with errors that name their JSON path, and parsing one
// quota object. Knows nothing of files, so the admin API can reuse it for
// request bodies.
#pragma once

#include "config/config.h"
#include "common/cidr.h"
#include "limit/quota.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Objects keep their document order, so errors come out in the order written
// and a response body is served with its keys as configured.
using Json = nlohmann::ordered_json;

// One value of a document under validation. Every typed read records a
// ConfigError (with `file` left empty for the caller to fill in) at this
// value's path when the value does not fit, and returns nullopt.
class JsonField {
public:
    JsonField(const Json& value, std::string path, std::vector<ConfigError>& errors)
        : value_(value),
          path_(std::move(path)),
          errors_(errors) {}

    const Json& value() const { return value_; }
    const std::string& path() const { return path_; }
    void error(std::string reason) const;
    void error_at(std::string_view member, std::string reason) const;
    void missing(std::string_view member) const { error_at(member, "required"); }
    // Errors recorded so far in the whole document.
    std::size_t error_count() const { return errors_.size(); }

    std::optional<std::string> string() const;
    std::optional<double> number() const;
    std::optional<std::int64_t> integer(std::int64_t min,
                                        std::int64_t max = std::numeric_limits<std::int64_t>::max()) const;
    std::optional<bool> boolean() const;
    // A duration string or a number of seconds, > 0 or, with zero_allowed,
    // >= 0, and at most `max`.
    std::optional<std::chrono::nanoseconds> duration(
        bool zero_allowed, std::chrono::nanoseconds max = std::chrono::nanoseconds::max()) const;
    std::optional<HeaderStyle> header_style() const;
    // "10.0.0.0/8", "2001:db8::/32" or a bare address, host bits zero.
    std::optional<Cidr> cidr() const;
    // A file or folder, relative to `folder` (the config's) when relative.
    std::optional<std::filesystem::path> path(const std::filesystem::path& folder) const;

    // Visit array elements / object members in document order; false (after
    // recording an error) when the value is not an array / object. For
    // members, `visit` returns whether it knows the name: unknown members are
    // errors.
    bool for_each_element(const std::function<void(const JsonField&)>& visit) const;
    bool for_each_member(const std::function<bool(const std::string&, const JsonField&)>& visit) const;

private:
    std::string member_path(std::string_view member) const;

    const Json& value_;
    std::string path_;
    std::vector<ConfigError>& errors_;
};

// A number as written, for messages: "1e-10", "0.5", "200".
std::string number_text(double value);

// nlohmann's exception message without its "[json.exception...] " tag.
std::string json_error_detail(const std::string& what);

// A parsed document, or why there is none: "invalid JSON at line L, column
// C: ..." or, for a number no double holds, its JSON path and
// "1e400 is out of range for a number" (`file` left empty).
struct JsonDocument {
    std::optional<Json> root;
    ConfigError error;
    // Paths of members repeated in an object: nlohmann keeps the last silently.
    std::vector<std::string> repeated;
};
JsonDocument parse_json_document(const std::string& text);

// Parses one quota object (fields as in the design's quota table). The quota
// is valid only if no error was recorded; its name is set whenever the name
// itself is valid, so that callers can still check names for uniqueness.
// A `response` without `body` keeps it empty: the proxy's default body.
Quota parse_quota(const JsonField& object);

}  // namespace sluice
