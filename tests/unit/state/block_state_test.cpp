#include "state/block_state.h"

#include "tests/support/temp_folder.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace sluice {
namespace {

using namespace std::chrono_literals;

constexpr Nanos kSecond = 1'000'000'000;

IpAddress ip(std::string_view text) { return *parse_ip(text); }

// 2026-11-23T10:00:00Z on the wall clock; the steady clock's reading then.
ClockReading reading(Nanos steady) {
    return {steady, std::chrono::system_clock::time_point(std::chrono::seconds(1795428000))};
}

class BlockStateTest : public ::testing::Test {
protected:
    std::string load_error() const {
        try {
            load_blocks(dir.path(), reading(1000 * kSecond));
        } catch (const std::runtime_error& e) {
            return e.what();
        }
        return "<no error>";
    }
    std::string file() const { return blocks_file(dir.path()).string(); }

    testing::TempFolder dir;
};

TEST_F(BlockStateTest, FileHoldsWallClockExpiriesInUnixNanoseconds) {
    save_blocks(dir.path(),
                {{ip("192.0.2.7"), 1000 * kSecond + 90 * kSecond + 5, "api"},
                 {ip("2001:db8::1"), 1000 * kSecond + 600 * kSecond, "quota:per-ip"}},
                reading(1000 * kSecond));
    EXPECT_EQ(testing::TempFolder::read(dir / "blocks.json"),
              R"({
  "blocks": [
    {
      "client": "192.0.2.7",
      "expires_unix_ns": 1795428090000000005,
      "origin": "api"
    },
    {
      "client": "2001:db8::1",
      "expires_unix_ns": 1795428600000000000,
      "origin": "quota:per-ip"
    }
  ]
}
)");
}

TEST_F(BlockStateTest, LoadingConvertsToTheNewSteadyClockAndSkipsExpiredBlocks) {
    save_blocks(dir.path(),
                {{ip("192.0.2.7"), 1090 * kSecond, "api"},
                 {ip("192.0.2.8"), 1030 * kSecond, "api"},
                 {ip("2001:db8::1"), 1600 * kSecond, "quota:per-ip"}},
                reading(1000 * kSecond));
    // A reboot later: the steady clock starts low, the wall clock moved 30 s on.
    ClockReading after = reading(5 * kSecond);
    after.wall += 30s;
    const std::vector<BlockEntry> expected = {{ip("192.0.2.7"), 65 * kSecond, "api"},
                                              {ip("2001:db8::1"), 575 * kSecond, "quota:per-ip"}};
    EXPECT_EQ(load_blocks(dir.path(), after), expected) << "192.0.2.8 expired exactly at the new now";
}

TEST_F(BlockStateTest, NoFileIsNoBlocksAndAnEmptyListRoundTrips) {
    EXPECT_TRUE(load_blocks(dir.path(), reading(kSecond)).empty());
    save_blocks(dir.path(), {}, reading(kSecond));
    EXPECT_EQ(testing::TempFolder::read(dir / "blocks.json"), "{\n  \"blocks\": []\n}\n");
    EXPECT_TRUE(load_blocks(dir.path(), reading(kSecond)).empty());
}

TEST_F(BlockStateTest, FarExpiryDoesNotWrap) {
    dir.write("blocks.json",
              R"({"blocks": [{"client": "192.0.2.7", "expires_unix_ns": 9223372036854775807, "origin": "api"}]})");
    const std::vector<BlockEntry> loaded = load_blocks(dir.path(), reading(1000 * kSecond));
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].until, 1000 * kSecond + (9223372036854775807 - 1795428000 * kSecond));
}

TEST_F(BlockStateTest, SavingToAMissingFolderNamesTheFile) {
    const std::filesystem::path missing = dir / "absent";
    try {
        save_blocks(missing, {}, reading(kSecond));
        FAIL() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "cannot write " + (missing / "blocks.json").string() + ": No such file or directory");
    }
}

TEST_F(BlockStateTest, InvalidJsonNamesFileAndPosition) {
    dir.write("blocks.json", "{\"blocks\": [");
    EXPECT_EQ(load_error(), file() +
                                ": invalid JSON at line 1, column 13: syntax error while parsing value - "
                                "unexpected end of input; expected '[', '{', or a literal");
    dir.write("blocks.json", std::string(100'000, '[') + std::string(100'000, ']'));
    EXPECT_EQ(load_error(), file() + ": invalid JSON: nested more than 64 levels deep");
    dir.write("blocks.json", R"({"blocks": [{"client": "192.0.2.1", "expires_unix_ns": 1e400}]})");
    EXPECT_EQ(load_error(), file() + ": blocks[0].expires_unix_ns: 1e400 is out of range for a number");
}

TEST_F(BlockStateTest, EveryBadFieldIsNamedByItsJsonPath) {
    const std::pair<std::string, std::string> cases[] = {
        {R"([])", "must be an object"},
        {R"({})", "blocks: required"},
        {R"({"blocks": {}})", "blocks: must be an array"},
        {R"({"blocks": [], "colour": 1})", "colour: unknown field"},
        {R"({"blocks": [7]})", "blocks[0]: must be an object"},
        {R"({"blocks": [{"expires_unix_ns": 1, "origin": "api"}]})", "blocks[0].client: required"},
        {R"({"blocks": [{"client": "192.0.2.1", "origin": "api"}]})", "blocks[0].expires_unix_ns: required"},
        {R"({"blocks": [{"client": "192.0.2.1", "expires_unix_ns": 1}]})", "blocks[0].origin: required"},
        {R"({"blocks": [{"client": "192.0.2.1", "expires_unix_ns": 1, "origin": "api"},
                        {"client": "host", "expires_unix_ns": 1, "origin": "api"}]})",
         R"(blocks[1].client: "host" is not an IP address)"},
        {R"({"blocks": [{"client": 1, "expires_unix_ns": 1, "origin": "api"}]})", "blocks[0].client: must be a string"},
        {R"({"blocks": [{"client": "192.0.2.1", "expires_unix_ns": "1", "origin": "api"}]})",
         "blocks[0].expires_unix_ns: must be an integer"},
        {R"({"blocks": [{"client": "192.0.2.1", "expires_unix_ns": -1, "origin": "api"}]})",
         "blocks[0].expires_unix_ns: must be at least 0"},
        {R"({"blocks": [{"client": "192.0.2.1", "expires_unix_ns": 1, "origin": ""}]})",
         "blocks[0].origin: must not be empty"},
        {R"({"blocks": [{"client": "192.0.2.1", "expires_unix_ns": 1, "origin": "api", "until": 2}]})",
         "blocks[0].until: unknown field"},
    };
    for (const auto& [text, error] : cases) {
        dir.write("blocks.json", text);
        EXPECT_EQ(load_error(), file() + ": " + error) << text;
    }
}

TEST_F(BlockStateTest, UnreadableFileIsNamed) {
    std::filesystem::create_directory(dir / "blocks.json");
    EXPECT_EQ(load_error(), file() + ": not a regular file");
}

}  // namespace
}  // namespace sluice
