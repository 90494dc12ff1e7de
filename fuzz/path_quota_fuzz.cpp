// Request path normalization and quota matching (limit/quota_matcher.h), as
// the limiter uses them: normalize_path(target), then QuotaMatcher::match.
// Properties, from normalize_path's documented contract:
// - normalizing is idempotent: normalize(normalize(t)) == normalize(t), and
//   the result starts with '/' and has no empty, "." or ".." segment;
// - the spellings it promises to see through (percent-encoding, "%2F" for a
//   slash, ";params" (on "." and ".." too), backslashes, "." and "x/.." segments, repeated
//   slashes, a query, the absolute form, and case / a trailing slash when the
//   matching ignores them) normalize to the same path, so they meet the same
//   quotas: "cannot slip past a quota";
// - a quota on the normalized path applies to every such spelling.
// The quota set is fixed (every path kind) plus that one probe quota.
#include "limit/quota_matcher.h"

#include "support/fuzz_check.h"
#include "support/input_split.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using sluice::fuzz::check;

constexpr std::string_view kProbeHeader = "x-probe";  // the probe quota's own key kind

std::vector<sluice::Quota> fixed_quotas() {
    std::vector<sluice::Quota> quotas;
    auto add = [&](std::string path, std::string method, bool cumulative) {
        sluice::Quota q;
        q.name = "q" + std::to_string(quotas.size());
        q.path = std::move(path);
        q.method = std::move(method);
        q.rate = 10;
        q.cumulative = cumulative;
        quotas.push_back(std::move(q));
    };
    add("", "", false);
    add("", "POST", false);
    add("/v1/*", "", false);
    add("/v1/auth/*", "", true);
    add("/v1/auth/{action}", "", false);
    add("/v1/auth/exchange", "", false);
    add("/v1/auth/exchange", "GET", false);
    add("/a/{id}/b", "", true);
    add("/A%2Fb", "", false);
    add("/x%3Fy", "", false);
    return quotas;
}

// A deterministic choice of spelling per position, from the input's seed.
class Choices {
public:
    explicit Choices(std::uint64_t seed) : state_(seed | 1) {}
    unsigned next(unsigned n) {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 7;
        state_ ^= state_ << 17;
        return static_cast<unsigned>(state_ % n);
    }

private:
    std::uint64_t state_;
};

std::string percent_encoded(char c) {
    static constexpr char hex[] = "0123456789ABCDEF";
    const auto byte = static_cast<unsigned char>(c);
    return {'%', hex[byte >> 4], hex[byte & 15]};
}

// `path` (plain segments of unreserved characters) spelled another way that
// normalize_path promises to read as the same path.
std::string respelled(std::string_view path, const sluice::PathMatching& matching, Choices& choices) {
    // In the absolute form the path starts at the first literal '/' after
    // the host, so that one stays as it is.
    std::string out = choices.next(4) == 0 ? "http://example.com/" : "/";
    const std::string_view rest = path.substr(1);
    for (std::size_t i = 0; i < rest.size(); ++i) {
        const char c = rest[i];
        // A trailing slash spelled as a dot segment with a path parameter.
        if (c == '/' && i + 1 == rest.size() && choices.next(3) == 0) {
            out += choices.next(2) == 0 ? "/.;p" : "/x/..;p";
            continue;
        }
        if (c == '/') {
            switch (choices.next(8)) {
            case 0: out += "//"; break;
            case 1: out += "/./"; break;
            case 2: out += "/x/../"; break;
            case 3: out += '\\'; break;
            case 4: out += "%2F"; break;
            case 5: out += ";p=1/"; break;
            case 6: out += "%3Bq/"; break;
            default: out += '/';
            }
            continue;
        }
        switch (choices.next(6)) {
        case 0: out += percent_encoded(c); break;
        case 1:
            out += matching.case_insensitive ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
            break;
        default: out += c;
        }
    }
    if (matching.ignore_trailing_slash && choices.next(3) == 0) out += '/';
    if (choices.next(3) == 0) out += "?q=%2F..%2F&x=/../#frag";
    return out;
}

// The input's text as plain segments: unreserved characters and '/'.
std::string plain_path(std::string_view text) {
    std::string path = "/";
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) || c == '-' || c == '_' || c == '~' || (c == '/' && path.back() != '/')) {
            path += c;
        }
    }
    return path;
}

void check_normal(const std::string& normal, std::string_view target, const sluice::PathMatching& matching) {
    check(!normal.empty() && normal.front() == '/', "a normalized path does not start with '/'", target);
    check(sluice::normalize_path(normal, matching) == normal, "normalize_path is not idempotent",
          std::string(target) + " -> " + normal + " -> " + sluice::normalize_path(normal, matching));
    check(normal.find("//") == std::string::npos && normal.find("/./") == std::string::npos &&
              normal.find("/../") == std::string::npos && !normal.ends_with("/.") && !normal.ends_with("/.."),
          "a normalized path keeps an empty, \".\" or \"..\" segment", normal);
}

std::vector<std::size_t> sorted_matches(const sluice::QuotaMatcher& matcher, std::string_view method,
                                        std::string_view path) {
    std::vector<std::size_t> out;
    matcher.match(method, path, out);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sluice::fuzz::InputReader reader(data, size);
    const std::uint8_t flags = reader.byte();
    const sluice::PathMatching matching{.case_insensitive = (flags & 1) != 0,
                                        .ignore_trailing_slash = (flags & 2) != 0};
    const std::string_view method = (flags & 4) ? "POST" : (flags & 8) ? "HEAD" : "GET";
    Choices choices(reader.u64());
    const std::string_view raw = reader.rest();

    // Any target at all.
    const std::string normal = sluice::normalize_path(raw, matching);
    check_normal(normal, raw, matching);

    // A plain path and spellings of it.
    const std::string path = plain_path(raw);
    const std::string path_normal = sluice::normalize_path(path, matching);
    check_normal(path_normal, path, matching);

    std::vector<sluice::Quota> quotas = fixed_quotas();
    const std::size_t probe = quotas.size();
    quotas.push_back(quotas.front());
    quotas.back().name = "probe";
    quotas.back().path = path_normal;
    quotas.back().key = {sluice::KeyKind::header, std::string(kProbeHeader)};
    check(sluice::path_error(path_normal).empty(), "a normalized plain path is not a valid quota path", path_normal);
    const sluice::QuotaMatcher matcher(quotas, matching);

    const std::vector<std::size_t> expected = sorted_matches(matcher, method, path_normal);
    check(std::binary_search(expected.begin(), expected.end(), probe),
          "a quota on a normalized path does not apply to that path", path_normal);
    check(sorted_matches(matcher, method, sluice::normalize_path(path_normal, matching)) == expected,
          "a normalized path meets other quotas than its normalized form", path_normal);
    for (int i = 0; i < 4; ++i) {
        const std::string spelling = respelled(path, matching, choices);
        const std::string spelling_normal = sluice::normalize_path(spelling, matching);
        check(spelling_normal == path_normal, "another spelling normalizes to another path",
              path + " -> " + path_normal + "\n" + spelling + " -> " + spelling_normal);
        check(sorted_matches(matcher, method, spelling_normal) == expected, "another spelling meets other quotas",
              spelling);
    }
    return 0;
}
