#include "sluicectl/quota_fields.h"
#include "tests/unit/sluicectl/failure_check.h"
#include "tests/support/temp_folder.h"

#include <gtest/gtest.h>

namespace sluice::ctl {
namespace {

using nlohmann::json;

TEST(SluicectlQuotaFields, NumbersBooleansObjectsAndStrings) {
    EXPECT_EQ(field_value("rate", "10"), json(10.0));
    EXPECT_EQ(field_value("burst", "2.5"), json(2.5));
    EXPECT_EQ(field_value("rate", "1e3"), json(1000.0));
    EXPECT_EQ(field_value("inheritable", "true"), json(true));
    EXPECT_EQ(field_value("cumulative", "false"), json(false));
    EXPECT_EQ(field_value("response", R"({"status": 503})"), json({{"status", 503}}));
    // Durations stay strings: sluiced reads "1m" and "60" alike.
    EXPECT_EQ(field_value("interval", "1m"), json("1m"));
    EXPECT_EQ(field_value("block_interval", "300"), json("300"));
    EXPECT_EQ(field_value("path", "/v1/*"), json("/v1/*"));
    EXPECT_EQ(field_value("key", "header:X-API-Key"), json("header:X-API-Key"));
    EXPECT_EQ(field_value("mode", "dry_run"), json("dry_run"));
    EXPECT_EQ(field_value("path", ""), json(""));
}

TEST(SluicectlQuotaFields, AValueThatDoesNotFitItsFieldIsNamed) {
    EXPECT_EQ(usage_error_of([] { field_value("rate", "abc"); }), "rate: \"abc\" is not a number");
    EXPECT_EQ(usage_error_of([] { field_value("rate", "10x"); }), "rate: \"10x\" is not a number");
    EXPECT_EQ(usage_error_of([] { field_value("burst", ""); }), "burst: \"\" is not a number");
    EXPECT_EQ(usage_error_of([] { field_value("rate", "inf"); }), "rate: \"inf\" is not a number");
    EXPECT_EQ(usage_error_of([] { field_value("cumulative", "yes"); }), "cumulative: \"yes\" is not true or false");
    EXPECT_EQ(usage_error_of([] { field_value("response", "[1]"); }), "response: \"[1]\" is not a JSON object");
}

TEST(SluicectlQuotaFields, BodyFromAssignmentsSplitsAtTheFirstEquals) {
    EXPECT_EQ(quota_body(std::nullopt, {"rate=10", "interval=1m", "key=header:X=Y"}),
              json({{"rate", 10.0}, {"interval", "1m"}, {"key", "header:X=Y"}}));
}

TEST(SluicectlQuotaFields, AssignmentsGoOnTopOfTheFile) {
    testing::TempFolder folder;
    const auto file = folder.write("q.json", R"({"path": "/v1/*", "rate": 5, "interval": "1m"})");
    EXPECT_EQ(quota_body(file, {"rate=20", "mode=dry_run"}),
              json({{"path", "/v1/*"}, {"rate", 20.0}, {"interval", "1m"}, {"mode", "dry_run"}}));
}

TEST(SluicectlQuotaFields, AFileThatIsNotAQuotaObjectIsAUsageError) {
    testing::TempFolder folder;
    const auto missing = folder / "missing.json";
    EXPECT_EQ(usage_error_of([&] { quota_body(missing, {}); }),
              "cannot read " + missing.string() + ": No such file or directory");
    EXPECT_EQ(usage_error_of([&] { quota_body(folder.path(), {}); }),
              "cannot read " + folder.path().string() + ": Is a directory");
    const auto array = folder.write("array.json", "[1]");
    EXPECT_EQ(usage_error_of([&] { quota_body(array, {}); }), array.string() + ": not a JSON object");
    const auto broken = folder.write("broken.json", "{\"rate\": ");
    EXPECT_EQ(usage_error_of([&] { quota_body(broken, {}); }).rfind(broken.string() + ": invalid JSON: ", 0), 0u);
}

}  // namespace
}  // namespace sluice::ctl
