#include "sluicectl/format.h"
#include "sluicectl/table.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace sluice::ctl {
namespace {

TEST(SluicectlTable, ColumnsAreAsWideAsTheirWidestCellTwoSpacesApart) {
    Table table({"NAME", "PATH", "RATE"});
    table.add_row({"per-ip", "/v1/*", "200"});
    table.add_row({"exchange", "POST /v1/auth/exchange", "10"});
    EXPECT_EQ(table.render(),
              "NAME      PATH                    RATE\n"
              "per-ip    /v1/*                   200\n"
              "exchange  POST /v1/auth/exchange  10\n");
}

TEST(SluicectlTable, NoTrailingSpacesAndWidthInCharacters) {
    Table table({"A", "B"});
    table.add_row({"ünï", ""});
    table.add_row({"x", "y"});
    EXPECT_EQ(table.render(),
              "A    B\n"
              "ünï\n"
              "x    y\n");
}

TEST(SluicectlTable, HeadingsAloneWhenThereAreNoRows) {
    EXPECT_EQ(Table({"CLIENT", "EXPIRES"}).render(), "CLIENT  EXPIRES\n");
}

TEST(SluicectlTable, ARowMustHaveACellPerColumn) {
    Table table({"A", "B"});
    EXPECT_THROW(table.add_row({"1"}), std::invalid_argument);
}

TEST(SluicectlFormat, Numbers) {
    EXPECT_EQ(format_number(10), "10");
    EXPECT_EQ(format_number(0.5), "0.5");
    EXPECT_EQ(format_number(2.75), "2.75");
    EXPECT_EQ(format_number(1000000), "1000000");
    EXPECT_EQ(format_number(-3), "-3");
    EXPECT_TRUE(is_whole_number(42));
    EXPECT_FALSE(is_whole_number(0.1));
}

TEST(SluicectlFormat, SecondsReadAsDurations) {
    EXPECT_EQ(format_seconds(0), "0s");
    EXPECT_EQ(format_seconds(1), "1s");
    EXPECT_EQ(format_seconds(60), "1m");
    EXPECT_EQ(format_seconds(90), "1m30s");
    EXPECT_EQ(format_seconds(3600), "1h");
    EXPECT_EQ(format_seconds(5400), "1h30m");
    EXPECT_EQ(format_seconds(3605), "1h5s");
    EXPECT_EQ(format_seconds(86400), "24h");
    EXPECT_EQ(format_seconds(1.5), "1.5s");
    EXPECT_EQ(format_seconds(0.25), "250ms");
    EXPECT_EQ(format_seconds(-60), "-1m");
}

TEST(SluicectlFormat, Cells) {
    EXPECT_EQ(format_cell("client_ip"), "client_ip");
    EXPECT_EQ(format_cell(""), "\"\"");
    EXPECT_EQ(format_cell(200), "200");
    EXPECT_EQ(format_cell(0.5), "0.5");
    EXPECT_EQ(format_cell(true), "true");
    EXPECT_EQ(format_cell(nullptr), "-");
    EXPECT_EQ(format_cell(nlohmann::json{{"status", 429}}), R"({"status":429})");
}

}  // namespace
}  // namespace sluice::ctl
