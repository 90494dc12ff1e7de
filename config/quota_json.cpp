#include "config/quota_json.h"

#include "common/duration.h"
#include "http/wire.h"
#include "limit/algorithms.h"
#include "limit/quota_matcher.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <limits>
#include <set>

namespace sluice {
namespace {

// LimitParams counts in 32 bits and would silently cut a larger rate; this is
// far above any real quota.
constexpr double kMaxRate = 1e9;
constexpr std::size_t kMaxNameLength = 128;

std::string in_quotes(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

bool is_name_char(unsigned char c) { return std::isalnum(c) || c == '.' || c == '_' || c == '-'; }

// What the limit algorithms count exactly.
constexpr std::chrono::nanoseconds kLongest{kMaxSpan};

// The token bucket charges interval / rate per request, in whole
// nanoseconds, and looks burst such charges ahead: both within kMaxSpan.
void check_token_bucket_range(const JsonField& object, const Quota& quota) {
    const double charge = static_cast<double>(quota.interval.count()) / quota.rate;
    const std::string rate = number_text(quota.rate) + " per " + duration_text(quota.interval);
    if (charge > static_cast<double>(kMaxSpan)) {
        object.error_at("rate", rate + " is below the smallest supported rate (1 per " + duration_text(kLongest) + ")");
    } else if (charge < 1) {
        object.error_at("rate", rate + " is above the largest supported token_bucket rate (1 per 1ns)");
    } else if (const LimitParams params = LimitParams::from(quota); quota.burst && params.capacity > kMaxSpan) {
        object.error_at("burst", number_text(*quota.burst) + " at " + rate + " takes " +
                                     duration_text(std::chrono::nanoseconds(params.capacity)) +
                                     " to refill, longer than the longest supported (" + duration_text(kLongest) + ")");
    }
}

template <typename Enum, std::size_t N>
std::optional<Enum> one_of(const JsonField& field, const Enum (&values)[N]) {
    const std::optional<std::string> text = field.string();
    if (!text) return std::nullopt;
    std::string names;
    for (Enum v : values) {
        if (to_string(v) == *text) return v;
        names += (names.empty() ? "" : ", ") + in_quotes(std::string(to_string(v)));
    }
    field.error(in_quotes(*text) + " is not one of " + names);
    return std::nullopt;
}

std::optional<QuotaKey> parse_key(const JsonField& field) {
    const std::optional<std::string> text = field.string();
    if (!text) return std::nullopt;
    for (KeyKind kind : {KeyKind::client_ip, KeyKind::bearer_token, KeyKind::global})
        if (to_string(kind) == *text) return QuotaKey{kind, {}};
    constexpr std::string_view kHeaderPrefix = "header:";
    if (text->starts_with(kHeaderPrefix)) {
        std::string name = text->substr(kHeaderPrefix.size());
        if (!is_token(name)) {
            field.error(in_quotes(*text) + " does not name a valid header");
        } else if (name.find('_') != std::string::npos) {
            // The request parser drops such fields (as nginx does), so the
            // quota would never see one.
            field.error(in_quotes(*text) + " names a header with '_', which sluiced drops from requests");
        } else {
            return QuotaKey{KeyKind::header, std::move(name)};
        }
        return std::nullopt;
    }
    field.error(in_quotes(*text) + R"( is not one of "client_ip", "bearer_token", "global", "header:<Name>")");
    return std::nullopt;
}

std::optional<std::string> parse_name(const JsonField& field) {
    std::optional<std::string> name = field.string();
    if (!name) return std::nullopt;
    if (name->empty() || name->size() > kMaxNameLength ||
        !std::all_of(name->begin(), name->end(), [](unsigned char c) { return is_name_char(c); })) {
        field.error(in_quotes(*name) + " is not a valid name: use 1 to 128 of A-Z a-z 0-9 . _ -");
        return std::nullopt;
    }
    return name;
}

std::optional<std::string> parse_method(const JsonField& field) {
    std::optional<std::string> method = field.string();
    if (!method) return std::nullopt;
    if (!is_token(*method)) {
        field.error(in_quotes(*method) + " is not an HTTP method");
        return std::nullopt;
    }
    std::transform(method->begin(), method->end(), method->begin(), [](unsigned char c) { return std::toupper(c); });
    return method;
}

// A rate or burst: a number meeting `valid`, and small enough to count.
std::optional<double> parse_amount(const JsonField& field, bool (*valid)(double), const char* requirement) {
    const std::optional<double> amount = field.number();
    if (!amount) return std::nullopt;
    if (!valid(*amount)) {
        field.error(requirement);
        return std::nullopt;
    }
    if (*amount > kMaxRate) {
        field.error("must be at most 1000000000");
        return std::nullopt;
    }
    return amount;
}

// Fields that frame the message or hold for one connection only (RFC 9112
// section 6, RFC 9110 section 7.6.1): sluiced sets them for each answer.
constexpr std::string_view kConnectionFields[] = {
    "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade"};

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
               return std::tolower(x) == std::tolower(y);
           });
}

// RFC 9110 section 5.5: visible characters, spaces and tabs; obs-text
// (bytes from 0x80) is allowed, so UTF-8 passes.
bool is_field_value(std::string_view text) {
    return std::none_of(text.begin(), text.end(), [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; });
}

void parse_response_headers(const JsonField& field, RefusalResponse& response) {
    field.for_each_member([&](const std::string& name, const JsonField& value) {
        const auto connection_field = [&](std::string_view f) { return equal_ignoring_case(name, f); };
        if (!is_token(name)) {
            value.error("not a valid header name");
        } else if (std::any_of(std::begin(kConnectionFields), std::end(kConnectionFields), connection_field)) {
            value.error("a framing or connection field is set by sluiced, not by a quota");
        } else if (const std::optional<std::string> text = value.string()) {
            if (!is_field_value(*text))
                value.error("must not contain CR, LF, NUL or other control characters");
            else
                response.headers.emplace_back(name, *text);
        }
        return true;
    });
}

RefusalResponse parse_response(const JsonField& field) {
    RefusalResponse response;
    field.for_each_member([&](const std::string& name, const JsonField& value) {
        if (name == "status") {
            if (auto status = value.integer(400, 599)) response.status = static_cast<unsigned>(*status);
        } else if (name == "body") {
            response.body = value.value().dump();
        } else if (name == "headers") {
            parse_response_headers(value, response);
        } else {
            return false;
        }
        return true;
    });
    return response;
}

// "line L, column C" (both from 1) of the character at `offset`.
std::string line_and_column(std::string_view text, std::size_t offset) {
    offset = std::min(offset, text.size());
    const std::string_view before = text.substr(0, offset);
    const std::size_t line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
    const std::size_t line_start = before.rfind('\n');
    const std::size_t column = line_start == std::string_view::npos ? offset + 1 : offset - line_start;
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// nlohmann's detail without "parse error at ...:" (the caller says where).
std::string parse_error_detail(const std::string& what) {
    std::string detail = json_error_detail(what);
    if (detail.starts_with("parse error")) {
        const std::size_t colon = detail.find(": ");
        if (colon != std::string::npos) detail.erase(0, colon + 2);
    }
    return detail;
}

// Deeper documents are refused: nlohmann's dump recurses once per level, and
// 100000 levels (a 200 KB quota response body) overflow the stack.
constexpr std::size_t kMaxDepth = 64;

struct TooDeep {};

// Tracks the JSON path while parsing, to name repeated members and the
// value a parse error is in.
class PathTracker {
public:
    bool on_event(Json::parse_event_t event, const Json& parsed) {
        using E = Json::parse_event_t;
        switch (event) {
        case E::object_start:
        case E::array_start:
            if (frames_.size() == kMaxDepth) throw TooDeep{};
            frames_.push_back({event == E::array_start, 0, {}, {}});
            break;
        case E::key: {
            Frame& top = frames_.back();
            top.key = parsed.get<std::string>();
            if (!top.keys.insert(top.key).second) repeated_.push_back(path());
            break;
        }
        case E::object_end:
        case E::array_end: frames_.pop_back(); [[fallthrough]];
        case E::value:
            if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
            break;
        }
        return true;
    }
    const std::vector<std::string>& repeated() const { return repeated_; }

    // Of the value being parsed.
    std::string path() const {
        std::string out;
        for (const Frame& f : frames_) {
            if (f.array)
                out += "[" + std::to_string(f.index) + "]";
            else
                out += (out.empty() ? "" : ".") + f.key;
        }
        return out;
    }

private:
    struct Frame {
        bool array;
        std::size_t index;  // array: elements seen so far
        std::string key;    // object: the member being parsed
        std::set<std::string> keys;
    };

    std::vector<Frame> frames_;
    std::vector<std::string> repeated_;
};

// "number overflow parsing '1e400'": the number's text.
std::string overflowing_number(const std::string& what) {
    const std::size_t first = what.find('\'');
    const std::size_t last = what.rfind('\'');
    return first < last ? what.substr(first + 1, last - first - 1) : "a number";
}

}  // namespace

void JsonField::error(std::string reason) const { errors_.push_back({{}, path_, std::move(reason)}); }

void JsonField::error_at(std::string_view member, std::string reason) const {
    errors_.push_back({{}, member_path(member), std::move(reason)});
}

std::string JsonField::member_path(std::string_view member) const {
    return path_.empty() ? std::string(member) : path_ + "." + std::string(member);
}

std::optional<std::string> JsonField::string() const {
    if (value_.is_string()) return value_.get<std::string>();
    error("must be a string");
    return std::nullopt;
}

std::optional<double> JsonField::number() const {
    if (value_.is_number()) return value_.get<double>();
    error("must be a number");
    return std::nullopt;
}

std::optional<std::int64_t> JsonField::integer(std::int64_t min, std::int64_t max) const {
    if (!value_.is_number_integer()) {
        error("must be an integer");
        return std::nullopt;
    }
    constexpr std::int64_t kLargest = std::numeric_limits<std::int64_t>::max();
    const bool beyond_int64 = value_.is_number_unsigned() && value_.get<std::uint64_t>() > std::uint64_t(kLargest);
    const std::int64_t v = beyond_int64 ? kLargest : value_.get<std::int64_t>();
    if (!beyond_int64 && v >= min && v <= max) return v;
    if (max != kLargest)
        error("must be between " + std::to_string(min) + " and " + std::to_string(max));
    else if (v < min)
        error("must be at least " + std::to_string(min));
    else
        error("is too large");
    return std::nullopt;
}

std::optional<bool> JsonField::boolean() const {
    if (value_.is_boolean()) return value_.get<bool>();
    error("must be true or false");
    return std::nullopt;
}

std::optional<std::chrono::nanoseconds> JsonField::duration(bool zero_allowed, std::chrono::nanoseconds max) const {
    if (!value_.is_string() && !value_.is_number()) {
        error("must be a duration (e.g. \"1m30s\") or a number of seconds");
        return std::nullopt;
    }
    const Checked<std::chrono::nanoseconds> d =
        value_.is_string() ? parse_duration(value_.get<std::string>()) : duration_from_seconds(value_.get<double>());
    if (!d.ok()) {
        error(d.error());
    } else if (!zero_allowed && d.value().count() <= 0) {
        error("must be greater than 0");
    } else if (d.value().count() < 0) {
        error("must not be negative");
    } else if (d.value() > max) {
        error(in_quotes(value_) + (value_.is_number() ? " seconds" : "") + " is longer than the longest supported (" +
              duration_text(max) + ")");
    } else {
        return d.value();
    }
    return std::nullopt;
}

std::optional<Cidr> JsonField::cidr() const {
    const std::optional<std::string> text = string();
    if (!text) return std::nullopt;
    if (std::optional<Cidr> block = parse_cidr(*text)) return block;
    error(value_.dump() + R"( is not a CIDR block with its host bits zero, e.g. "10.0.0.0/8")");
    return std::nullopt;
}

std::optional<std::filesystem::path> JsonField::path(const std::filesystem::path& folder) const {
    const std::optional<std::string> text = string();
    if (!text) return std::nullopt;
    if (text->empty()) {
        error("must not be empty");
        return std::nullopt;
    }
    // Absolute, so the log names the file wherever sluiced was started.
    return std::filesystem::absolute(folder / std::filesystem::path(*text));
}

std::optional<HeaderStyle> JsonField::header_style() const {
    return one_of(*this, {HeaderStyle::draft, HeaderStyle::x_ratelimit, HeaderStyle::ietf, HeaderStyle::none});
}

bool JsonField::for_each_element(const std::function<void(const JsonField&)>& visit) const {
    if (!value_.is_array()) {
        error("must be an array");
        return false;
    }
    for (std::size_t i = 0; i < value_.size(); ++i)
        visit(JsonField(value_[i], path_ + "[" + std::to_string(i) + "]", errors_));
    return true;
}

bool JsonField::for_each_member(const std::function<bool(const std::string&, const JsonField&)>& visit) const {
    if (!value_.is_object()) {
        error("must be an object");
        return false;
    }
    for (const auto& [name, value] : value_.items()) {
        const JsonField member(value, member_path(name), errors_);
        if (!visit(name, member)) member.error("unknown field");
    }
    return true;
}

std::string number_text(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.15g", value);
    return text;
}

std::string json_error_detail(const std::string& what) {
    const std::size_t tag_end = what.find("] ");
    return tag_end == std::string::npos ? what : what.substr(tag_end + 2);
}

JsonDocument parse_json_document(const std::string& text) {
    JsonDocument document;
    PathTracker paths;
    try {
        document.root = Json::parse(
            text, [&](int, Json::parse_event_t event, Json& parsed) { return paths.on_event(event, parsed); });
        document.repeated = paths.repeated();
    } catch (const Json::parse_error& e) {
        // e.byte counts the characters read, the offending one included.
        const std::size_t offset = e.byte == 0 ? 0 : e.byte - 1;
        document.error.reason =
            "invalid JSON at " + line_and_column(text, offset) + ": " + parse_error_detail(e.what());
    } catch (const Json::out_of_range& e) {  // a number too large for a double
        document.error = {{}, paths.path(), overflowing_number(e.what()) + " is out of range for a number"};
    } catch (const Json::exception& e) {
        document.error.reason = "invalid JSON: " + json_error_detail(e.what());
    } catch (const TooDeep&) {
        document.error.reason = "invalid JSON: nested more than " + std::to_string(kMaxDepth) + " levels deep";
    }
    return document;
}

Quota parse_quota(const JsonField& object) {
    Quota quota;
    bool has_name = false;
    bool has_rate = false;
    std::optional<double> rate;
    std::optional<double> burst;
    bool valid_interval = true;
    const bool is_object = object.for_each_member([&](const std::string& name, const JsonField& value) {
        if (name == "name") {
            has_name = true;
            if (auto v = parse_name(value)) quota.name = std::move(*v);
        } else if (name == "path") {
            if (auto v = value.string()) {
                if (std::string why = path_error(*v); !why.empty()) value.error(std::move(why));
                quota.path = std::move(*v);
            }
        } else if (name == "method") {
            if (auto v = parse_method(value)) quota.method = std::move(*v);
        } else if (name == "key") {
            if (auto v = parse_key(value)) quota.key = std::move(*v);
        } else if (name == "rate") {
            has_rate = true;
            rate = parse_amount(
                value, [](double r) { return r > 0; }, "must be greater than 0");
        } else if (name == "interval") {
            const std::optional<std::chrono::nanoseconds> interval = value.duration(false, kLongest);
            if (interval) quota.interval = *interval;
            valid_interval = interval.has_value();
        } else if (name == "burst") {
            burst = parse_amount(
                value, [](double b) { return b >= 1; }, "must be at least 1");
            if (burst) quota.burst = burst;
        } else if (name == "algorithm") {
            if (auto v = one_of(value, {Algorithm::token_bucket, Algorithm::fixed_window, Algorithm::sliding_window}))
                quota.algorithm = *v;
        } else if (name == "block_interval") {
            if (auto v = value.duration(true, kLongest)) quota.block_interval = *v;
        } else if (name == "mode") {
            if (auto v = one_of(value, {QuotaMode::enforce, QuotaMode::dry_run})) quota.mode = *v;
        } else if (name == "cumulative") {
            if (auto v = value.boolean()) quota.cumulative = *v;
        } else if (name == "response") {
            quota.response = parse_response(value);
        } else if (name == "headers") {
            quota.headers = value.header_style();
        } else if (name == "role") {
            if (auto v = value.string()) quota.role = std::move(*v);
        } else if (name == "inheritable") {
            if (auto v = value.boolean()) quota.inheritable = *v;
        } else {
            return false;
        }
        return true;
    });
    if (!is_object) return quota;

    if (!has_name) object.missing("name");
    if (!has_rate) object.missing("rate");
    if (rate) {
        quota.rate = *rate;
        if (quota.algorithm != Algorithm::token_bucket && quota.rate < 1)
            object.error_at("rate", std::string(to_string(quota.algorithm)) +
                                        " admits whole requests per window: rate must be at least 1");
    }
    if (burst && quota.algorithm != Algorithm::token_bucket)
        object.error_at("burst", "only applies to algorithm token_bucket");
    if (rate && valid_interval && quota.algorithm == Algorithm::token_bucket) check_token_bucket_range(object, quota);
    return quota;
}

}  // namespace sluice
