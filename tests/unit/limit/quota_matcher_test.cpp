#include "limit/quota_matcher.h"

#include "tests/support/fake_clock.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace std::chrono_literals;

namespace sluice {
namespace {

Quota quota(std::string name, std::string path, std::string method = "", QuotaKey key = {}) {
    Quota q = testing::make_quota(std::move(name), std::move(path), 10, 1min);
    q.method = std::move(method);
    q.key = std::move(key);
    return q;
}

// The quotas that count a request to `target`, normalized as the limiter does.
std::vector<std::string> applying(const std::vector<Quota>& quotas, std::string_view method, std::string_view target,
                                  const PathMatching& matching = {}) {
    std::vector<std::size_t> indexes;
    QuotaMatcher(quotas, matching).match(method, normalize_path(target, matching), indexes);
    std::vector<std::string> names;
    for (std::size_t i : indexes) names.push_back(quotas[i].name);
    std::sort(names.begin(), names.end());
    return names;
}

using Names = std::vector<std::string>;

TEST(QuotaMatcher, MostSpecificQuotaOfAKeyKindWinsInVaultOrder) {
    const std::vector<Quota> quotas = {
        quota("global", ""),
        quota("global-post", "", "POST"),
        quota("v1", "/v1/*"),
        quota("v1-auth", "/v1/auth/*"),
        quota("template", "/v1/auth/{action}"),
        quota("exact", "/v1/auth/exchange"),
        quota("exact-post", "/v1/auth/exchange", "POST"),
    };
    EXPECT_EQ(applying(quotas, "POST", "/v1/auth/exchange"), Names{"exact-post"});
    EXPECT_EQ(applying(quotas, "GET", "/v1/auth/exchange"), Names{"exact"});
    EXPECT_EQ(applying(quotas, "GET", "/v1/auth/login"), Names{"template"});
    EXPECT_EQ(applying(quotas, "GET", "/v1/auth/login/again"), Names{"v1-auth"});
    EXPECT_EQ(applying(quotas, "GET", "/v1/secrets"), Names{"v1"});
    EXPECT_EQ(applying(quotas, "GET", "/v2"), Names{"global"});
    EXPECT_EQ(applying(quotas, "POST", "/v2"), Names{"global-post"});
}

TEST(QuotaMatcher, QuotasOfDifferentKeyKindsAllApply) {
    const std::vector<Quota> quotas = {
        quota("per-ip", "/v1/*"),
        quota("per-token", "/v1/auth/exchange", "POST", {KeyKind::bearer_token, ""}),
        quota("per-key", "/v1/*", "", {KeyKind::header, "X-API-Key"}),
        quota("per-key-exact", "/v1/auth/exchange", "", {KeyKind::header, "x-api-key"}),
    };
    EXPECT_EQ(applying(quotas, "POST", "/v1/auth/exchange"), (Names{"per-ip", "per-key-exact", "per-token"}));
    EXPECT_EQ(applying(quotas, "GET", "/v1/other"), (Names{"per-ip", "per-key"}));
}

TEST(QuotaMatcher, CumulativeQuotaAppliesBeneathMoreSpecificOnes) {
    std::vector<Quota> quotas = {quota("all", ""), quota("v1", "/v1/*"), quota("exact", "/v1/x")};
    quotas[0].cumulative = true;
    EXPECT_EQ(applying(quotas, "GET", "/v1/x"), (Names{"all", "exact"}));
    EXPECT_EQ(applying(quotas, "GET", "/v1/y"), (Names{"all", "v1"}));
    EXPECT_EQ(applying(quotas, "GET", "/"), Names{"all"});
}

TEST(QuotaMatcher, TemplatesMatchOneWholeSegmentPerParameter) {
    const std::vector<Quota> quotas = {quota("scan", "/api/v1/scans/{id}"),
                                       quota("report", "/api/v1/scans/{id}/reports/{type}")};
    EXPECT_EQ(applying(quotas, "GET", "/api/v1/scans/42"), Names{"scan"});
    EXPECT_EQ(applying(quotas, "GET", "/api/v1/scans/42/reports/pdf"), Names{"report"});
    EXPECT_EQ(applying(quotas, "GET", "/api/v1/scans/"), Names{});
    EXPECT_EQ(applying(quotas, "GET", "/api/v1/scans/42/reports"), Names{});
    // A trailing slash is an empty segment only where it makes a difference.
    const PathMatching strict{.case_insensitive = false, .ignore_trailing_slash = false};
    EXPECT_EQ(applying(quotas, "GET", "/api/v1/scans/42/", strict), Names{});
    EXPECT_EQ(applying(quotas, "GET", "/api/v1/scans/42/"), Names{"scan"});
}

TEST(QuotaMatcher, MoreLiteralTemplateWins) {
    const std::vector<Quota> quotas = {quota("generic", "/api/{version}/scans/{id}"),
                                       quota("specific", "/api/v1/scans/{id}")};
    EXPECT_EQ(applying(quotas, "GET", "/api/v1/scans/1"), Names{"specific"});
    EXPECT_EQ(applying(quotas, "GET", "/api/v2/scans/1"), Names{"generic"});
}

TEST(FindConflicts, EqualSpecificityAndSameKeyIsAConflict) {
    using Pairs = std::vector<std::pair<std::size_t, std::size_t>>;
    EXPECT_EQ(find_conflicts({quota("a", "/v1/*"), quota("b", "/v1/*")}), (Pairs{{0, 1}}));
    EXPECT_EQ(find_conflicts({quota("a", ""), quota("b", "")}), (Pairs{{0, 1}}));
    EXPECT_EQ(find_conflicts({quota("a", "/x", "GET"), quota("b", "/x", "GET")}), (Pairs{{0, 1}}));
    EXPECT_EQ(find_conflicts({quota("a", "/a/{x}/c"), quota("b", "/a/b/{y}")}), (Pairs{{0, 1}}));
    EXPECT_EQ(find_conflicts(
                  {quota("a", "/h", "", {KeyKind::header, "X-Key"}), quota("b", "/h", "", {KeyKind::header, "x-key"})}),
              (Pairs{{0, 1}}));
    // Different method, key kind, shape or literal text: no conflict.
    EXPECT_EQ(find_conflicts({quota("a", "/x", "GET"), quota("b", "/x")}), Pairs{});
    EXPECT_EQ(find_conflicts({quota("a", "/x"), quota("b", "/x", "", {KeyKind::global, ""})}), Pairs{});
    EXPECT_EQ(find_conflicts({quota("a", "/a/{x}"), quota("b", "/a/{x}/c")}), Pairs{});
    EXPECT_EQ(find_conflicts({quota("a", "/a/b/{x}"), quota("b", "/a/c/{y}")}), Pairs{});
    EXPECT_EQ(find_conflicts({quota("a", "/v1/*"), quota("b", "/v1")}), Pairs{});
}

TEST(PathError, NamesWhatIsWrong) {
    EXPECT_EQ(path_error(""), "");
    EXPECT_EQ(path_error("/v1/*"), "");
    EXPECT_EQ(path_error("/a/{id}/b"), "");
    EXPECT_EQ(path_error("v1/"), "must be \"\" or start with '/'");
    EXPECT_EQ(path_error("/v1/*/x"), "'*' is only allowed as the last character");
    EXPECT_EQ(path_error("/a/{id}/*"), "a template cannot end in '*'");
    EXPECT_EQ(path_error("/a/x{id}"), "a {parameter} must be a whole path segment");
    EXPECT_EQ(path_error("/a/{}"), "a {parameter} must be a whole path segment");
    EXPECT_EQ(path_error("/a?b"), "must not contain spaces, control characters, '?' or '#'");
}

TEST(NormalizePath, ClosesTheUsualBypasses) {
    EXPECT_EQ(normalize_path("/v1/auth/exchange?x=1"), "/v1/auth/exchange");
    EXPECT_EQ(normalize_path("/v1//auth///exchange"), "/v1/auth/exchange");
    EXPECT_EQ(normalize_path("/v1/./auth/../auth/exchange"), "/v1/auth/exchange");
    EXPECT_EQ(normalize_path("/v1/auth/%65xchange"), "/v1/auth/exchange");
    EXPECT_EQ(normalize_path("/v1/%2e%2e/admin"), "/admin");
    EXPECT_EQ(normalize_path("/../../etc"), "/etc");
    EXPECT_EQ(normalize_path("http://example.com/v1/x?y"), "/v1/x");
    EXPECT_EQ(normalize_path("http://example.com"), "/");
    EXPECT_EQ(normalize_path(""), "/");
}

// WSGI servers decode the path before routing, servlet containers drop
// path parameters, Express and Rails ignore case and a trailing slash.
TEST(NormalizePath, CountsWhatRoutersRouteToTheSameEndpoint) {
    EXPECT_EQ(normalize_path("/v1/auth%2Fexchange"), "/v1/auth/exchange");
    EXPECT_EQ(normalize_path("/v1/auth%2fexchange"), "/v1/auth/exchange");
    EXPECT_EQ(normalize_path("/v1/auth;jsessionid=1/exchange;x=y"), "/v1/auth/exchange");
    EXPECT_EQ(normalize_path("/v1/auth%3Bx/exchange"), "/v1/auth/exchange");
    EXPECT_EQ(normalize_path("/v1\\auth%5Cexchange"), "/v1/auth/exchange");
    EXPECT_EQ(normalize_path("/V1/Auth/EXCHANGE"), "/v1/auth/exchange");
    EXPECT_EQ(normalize_path("/v1/auth/exchange/"), "/v1/auth/exchange");
    EXPECT_EQ(normalize_path("/v1/x/.."), "/v1");
    EXPECT_EQ(normalize_path("/"), "/");
}

// A decoded '?', '#' or '%' is part of the path: written escaped, so that a
// normalized path normalizes to itself (and a quota path "/a%20b" matches).
TEST(NormalizePath, ANormalizedPathNormalizesToItself) {
    EXPECT_EQ(normalize_path("/h/a/../b%3F;x"), "/h/b%3F");
    EXPECT_EQ(normalize_path("/a%2523%23"), "/a%2523%23");
    for (const char* target : {"/h/a/../b%3F;x", "/a%2523%23", "/V1//x%2F..%5C.%20/", "/%25%3f%23?q#f"})
        EXPECT_EQ(normalize_path(normalize_path(target)), normalize_path(target)) << target;
    EXPECT_EQ(applying({quota("spaced", "/a%20b")}, "GET", "/a b"), std::vector<std::string>{"spaced"});
    EXPECT_EQ(applying({quota("spaced", "/a%20b")}, "GET", "/A%20B"), std::vector<std::string>{"spaced"});
}

TEST(NormalizePath, StrictMatchingKeepsCaseAndTrailingSlash) {
    const PathMatching strict{.case_insensitive = false, .ignore_trailing_slash = false};
    EXPECT_EQ(normalize_path("/V1/Auth/", strict), "/V1/Auth/");
    EXPECT_EQ(normalize_path("/v1/x/..", strict), "/v1/");
    EXPECT_EQ(normalize_path("/v1/auth%2Fexchange", strict), "/v1/auth/exchange") << "decoding is never optional";
}

// Found by path_quota_fuzz: a dot segment with a path parameter lost the
// trailing slash its plain spelling keeps, so "/v1/.;x" slipped past "/v1/".
TEST(NormalizePath, ADotSegmentWithAParameterEndsInASlashAsThePlainOneDoes) {
    const PathMatching strict{.case_insensitive = false, .ignore_trailing_slash = false};
    EXPECT_EQ(normalize_path("/v1/.;x", strict), "/v1/");
    EXPECT_EQ(normalize_path("/v1/x/..;x", strict), "/v1/");
    EXPECT_EQ(normalize_path("/v1/%2E%3Bx", strict), "/v1/");
    EXPECT_EQ(normalize_path("/v1/;x", strict), "/v1/");
    EXPECT_EQ(normalize_path("/v1/x;.", strict), "/v1/x");
    EXPECT_EQ(normalize_path("/v1/.;x"), "/v1");
}

TEST(QuotaMatcher, MatchesEverySpellingOfAnEndpointByDefault) {
    const std::vector<Quota> quotas = {quota("exchange", "/v1/Auth/Exchange", "POST"), quota("api", "/API/*")};
    for (const char* target :
         {"/v1/auth/exchange", "/V1/AUTH/EXCHANGE", "/v1/auth/exchange/", "/v1/auth%2Fexchange", "/v1/auth;x/exchange"})
        EXPECT_EQ(applying(quotas, "POST", target), std::vector<std::string>{"exchange"}) << target;
    EXPECT_EQ(applying(quotas, "GET", "/api/things"), std::vector<std::string>{"api"});
    EXPECT_EQ(applying(quotas, "GET", "/api/"), std::vector<std::string>{"api"}) << "\"/api/\" is \"/api\"";
}

TEST(QuotaMatcher, AGetQuotaCountsHeadRequests) {
    const std::vector<Quota> quotas = {quota("list", "/api/v1/scans", "GET")};
    EXPECT_EQ(applying(quotas, "HEAD", "/api/v1/scans"), std::vector<std::string>{"list"});
    EXPECT_TRUE(applying(quotas, "POST", "/api/v1/scans").empty());
}

TEST(QuotaMatcher, StrictMatchingTellsSpellingsApart) {
    const PathMatching strict{.case_insensitive = false, .ignore_trailing_slash = false};
    const std::vector<Quota> quotas = {quota("exchange", "/v1/auth/exchange", "POST")};
    EXPECT_EQ(applying(quotas, "POST", "/v1/auth/exchange", strict), std::vector<std::string>{"exchange"});
    EXPECT_TRUE(applying(quotas, "POST", "/V1/auth/exchange", strict).empty());
    EXPECT_TRUE(applying(quotas, "POST", "/v1/auth/exchange/", strict).empty());
}

}  // namespace
}  // namespace sluice
