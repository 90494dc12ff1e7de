#include "limit/quota_matcher.h"

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <cctype>

namespace sluice {
namespace {

std::vector<std::string_view> split_segments(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t start = 1;  // past the leading '/'
    while (start <= path.size()) {
        const std::size_t end = std::min(path.find('/', start), path.size());
        out.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

bool is_param(std::string_view segment) {
    return segment.size() >= 3 && segment.front() == '{' && segment.back() == '}';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Vault's order, most specific first: exact, template, prefix, global; inside
// a kind, more literal text first, and a quota with a method before one
// without.
enum Category : std::uint64_t { kGlobal = 1, kPrefix = 2, kTemplate = 3, kExact = 4 };

std::uint64_t rank_of(const PathPattern& pattern, bool has_method) {
    std::uint64_t detail = 0;
    switch (pattern.kind) {
    case PathKind::exact: return (kExact << 56) | has_method;
    case PathKind::global: return (kGlobal << 56) | has_method;
    case PathKind::prefix: detail = pattern.text.size(); break;
    case PathKind::template_:
        detail = std::count_if(pattern.segments.begin(), pattern.segments.end(),
                               [](const std::string& s) { return !s.empty(); });
        break;
    }
    const std::uint64_t category = pattern.kind == PathKind::prefix ? kPrefix : kTemplate;
    return (category << 56) | (std::min<std::uint64_t>(detail, (1ull << 48) - 1) << 1) | has_method;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

QuotaKey normalized_key(const QuotaKey& key) { return {key.kind, lower(key.header)}; }

// Whether two templates of one shape could match the same path.
bool templates_overlap(const PathPattern& a, const PathPattern& b) {
    if (a.segments.size() != b.segments.size()) return false;
    for (std::size_t i = 0; i < a.segments.size(); ++i) {
        const std::string& x = a.segments[i];
        const std::string& y = b.segments[i];
        if (!x.empty() && !y.empty() && x != y) return false;
    }
    return true;
}

}  // namespace

namespace {

void lower_in_place(std::string& s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
}

// A configured path as normalize_path spells a request's.
// Every %XX decoded; a malformed escape stays as it is.
std::string percent_decoded(std::string_view text) {
    std::string decoded;
    decoded.reserve(text.size() + 1);
    for (std::size_t i = 0; i < text.size(); ++i) {
        const int hi = text[i] == '%' && i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
        const int lo = hi >= 0 ? hex_value(text[i + 2]) : -1;
        if (lo >= 0) {
            decoded += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            decoded += text[i];
        }
    }
    return decoded;
}

// The characters that end a path or start an escape, escaped again, so that
// a normalized path normalizes to itself.
std::string with_delimiters_escaped(std::string_view path) {
    std::string out;
    out.reserve(path.size());
    for (const char c : path) {
        switch (c) {
        case '%': out += "%25"; break;
        case '?': out += "%3F"; break;
        case '#': out += "%23"; break;
        default: out += c;
        }
    }
    return out;
}

std::string canonical(std::string_view configured, const PathMatching& matching) {
    std::string out = with_delimiters_escaped(percent_decoded(configured));
    if (matching.case_insensitive) lower_in_place(out);
    if (matching.ignore_trailing_slash && out.size() > 1 && out.ends_with('/')) out.pop_back();
    return out;
}

}  // namespace

std::string path_error(std::string_view path) {
    if (path.empty()) return {};
    if (path.front() != '/') return "must be \"\" or start with '/'";
    for (unsigned char c : path)
        if (c <= ' ' || c == '?' || c == '#' || c >= 0x7f)
            return "must not contain spaces, control characters, '?' or '#'";
    const std::size_t star = path.find('*');
    if (star != std::string_view::npos && star != path.size() - 1) return "'*' is only allowed as the last character";
    const bool braces = path.find_first_of("{}") != std::string_view::npos;
    if (braces && star != std::string_view::npos) return "a template cannot end in '*'";
    if (braces) {
        for (std::string_view segment : split_segments(path)) {
            if (segment.find_first_of("{}") == std::string_view::npos) continue;
            if (!is_param(segment) || segment.find_first_of("{}", 1) != segment.size() - 1)
                return "a {parameter} must be a whole path segment";
        }
    }
    return {};
}

PathPattern PathPattern::parse(std::string_view configured_text, const PathMatching& matching) {
    PathPattern p;
    if (configured_text.empty()) return p;
    const std::string spelled = canonical(configured_text, matching);
    const std::string_view configured = spelled;
    if (configured.back() == '*') {
        p.kind = PathKind::prefix;
        p.text = configured.substr(0, configured.size() - 1);
    } else if (configured.find('{') != std::string_view::npos) {
        p.kind = PathKind::template_;
        for (std::string_view segment : split_segments(configured))
            p.segments.emplace_back(is_param(segment) ? std::string_view{} : segment);
    } else {
        p.kind = PathKind::exact;
        p.text = configured;
    }
    return p;
}

bool PathPattern::matches(std::string_view path) const {
    switch (kind) {
    case PathKind::global: return true;
    case PathKind::exact: return path == text;
    // "/v1/*" also matches "/v1" where a trailing slash makes no difference
    // (normalize_path then drops it).
    case PathKind::prefix:
        return path.starts_with(text) ||
               (text.size() == path.size() + 1 && text.starts_with(path) && text.back() == '/');
    case PathKind::template_: {
        if (path.empty() || path.front() != '/') return false;
        std::size_t start = 1;
        for (std::size_t i = 0; i < segments.size(); ++i) {
            if (start > path.size()) return false;
            const std::size_t end = std::min(path.find('/', start), path.size());
            const std::string_view segment = path.substr(start, end - start);
            const bool last = i + 1 == segments.size();
            if (last != (end == path.size())) return false;
            if (segments[i].empty() ? segment.empty() : segment != segments[i]) return false;
            start = end + 1;
        }
        return true;
    }
    }
    return false;
}

std::string normalize_path(std::string_view target, const PathMatching& matching) {
    if (target.starts_with("http://") || target.starts_with("https://")) {  // absolute form
        const std::size_t slash = target.find('/', target.find("//") + 2);
        target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    target = target.substr(0, target.find_first_of("?#"));

    std::string decoded = percent_decoded(target);
    // Some servers (and every browser) take a backslash for a slash.
    std::replace(decoded.begin(), decoded.end(), '\\', '/');
    if (matching.case_insensitive) lower_in_place(decoded);

    // Remove path parameters, dot segments and empty segments (RFC 3986
    // 5.2.4, plus "//").
    std::vector<std::string_view> kept;
    std::string_view rest = decoded;
    // The last segment as it is read below, parameters dropped: "/a/.;p"
    // ends in a slash as "/a/." does (found by path_quota_fuzz).
    const std::string_view last = rest.substr(rest.rfind('/') + 1);
    const std::string_view last_segment = last.substr(0, last.find(';'));
    const bool trailing_slash = rest.find('/') != std::string_view::npos &&
                                (last_segment.empty() || last_segment == "." || last_segment == "..");
    while (!rest.empty()) {
        const std::size_t end = std::min(rest.find('/'), rest.size());
        std::string_view segment = rest.substr(0, end);
        segment = segment.substr(0, segment.find(';'));
        rest = end == rest.size() ? std::string_view{} : rest.substr(end + 1);
        if (segment.empty() || segment == ".") continue;
        if (segment == "..") {
            if (!kept.empty()) kept.pop_back();
            continue;
        }
        kept.push_back(segment);
    }
    std::string out;
    out.reserve(decoded.size() + 1);
    for (std::string_view segment : kept) {
        out += '/';
        out += segment;
    }
    if (out.empty() || (trailing_slash && !matching.ignore_trailing_slash)) out += '/';
    // Per request: the copy only when there is something to escape.
    if (out.find_first_of("%?#") == std::string::npos) return out;
    return with_delimiters_escaped(out);
}

QuotaMatcher::QuotaMatcher(const std::vector<Quota>& quotas, const PathMatching& matching) {
    for (std::size_t i = 0; i < quotas.size(); ++i) {
        const Quota& q = quotas[i];
        PathPattern pattern = PathPattern::parse(q.path, matching);
        const std::uint64_t rank = rank_of(pattern, !q.method.empty());
        entries_.push_back({i, std::move(pattern), q.method, normalized_key(q.key), q.cumulative, rank});
    }
    std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.rank > b.rank; });
}

void QuotaMatcher::match(std::string_view method, std::string_view path, std::vector<std::size_t>& out) const {
    out.clear();
    // Key kinds already served by a more specific quota; few per request.
    boost::container::small_vector<const QuotaKey*, 8> served;
    for (const Entry& e : entries_) {
        // Frameworks (Flask, Express, Rails, Spring) answer HEAD with the GET
        // route's handler: a GET quota counts HEAD requests too.
        if (!e.method.empty() && e.method != method && !(e.method == "GET" && method == "HEAD")) continue;
        if (!e.pattern.matches(path)) continue;
        const bool first_of_kind =
            std::none_of(served.begin(), served.end(), [&](const QuotaKey* k) { return *k == e.key; });
        if (first_of_kind) served.push_back(&e.key);
        if (first_of_kind || e.cumulative) out.push_back(e.index);
    }
}

std::vector<std::pair<std::size_t, std::size_t>> find_conflicts(const std::vector<Quota>& quotas) {
    std::vector<PathPattern> patterns;
    for (const Quota& q : quotas) patterns.push_back(PathPattern::parse(q.path));
    std::vector<std::pair<std::size_t, std::size_t>> conflicts;
    for (std::size_t j = 0; j < quotas.size(); ++j) {
        for (std::size_t i = 0; i < j; ++i) {
            const Quota& a = quotas[i];
            const Quota& b = quotas[j];
            if (normalized_key(a.key) != normalized_key(b.key) || a.method != b.method) continue;
            const PathPattern& pa = patterns[i];
            const PathPattern& pb = patterns[j];
            if (pa.kind != pb.kind || rank_of(pa, false) != rank_of(pb, false)) continue;
            const bool same = pa.kind == PathKind::template_ ? templates_overlap(pa, pb) : pa.text == pb.text;
            if (same) conflicts.emplace_back(i, j);
        }
    }
    return conflicts;
}

}  // namespace sluice
