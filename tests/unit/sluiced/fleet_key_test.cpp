#include "sluiced/fleet_key.h"

#include "tests/support/error_of.h"
#include "tests/support/file_mode.h"
#include "tests/support/temp_folder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <regex>
#include <thread>

using ::testing::ElementsAre;

namespace sluice {
namespace {

namespace fs = std::filesystem;
using testing::mode_of;

fs::path write_key(const testing::TempFolder& folder, const std::string& name, const std::string& text,
                   fs::perms mode = fs::perms(0600)) {
    const fs::path file = folder.write(name, text);
    fs::permissions(file, mode);
    return file;
}

std::string error_of(const fs::path& file) {
    return testing::error_of([&] { load_fleet_key(file); });
}

TEST(FleetKey, AMissingFileIsCreatedWith32RandomBytesAndMode0600) {
    const testing::TempFolder folder;
    const fs::path file = folder / "new/folder/fleet.key";
    const FleetKey created = load_fleet_key(file);
    EXPECT_THAT(created.notes, ElementsAre("created the fleet key " + file.string() +
                                           ": copy it to every host that shares this Redis"));
    EXPECT_EQ(mode_of(file), 0600u);
    const std::string text = testing::TempFolder::read(file);
    EXPECT_TRUE(std::regex_match(text, std::regex("[0-9a-f]{64}\n"))) << text;
    EXPECT_TRUE(std::regex_match(created.fingerprint, std::regex("[0-9a-f]{16}"))) << created.fingerprint;
    // No temporary file is left beside it.
    EXPECT_EQ(std::distance(fs::directory_iterator(file.parent_path()), fs::directory_iterator()), 1);

    const FleetKey again = load_fleet_key(file);
    EXPECT_TRUE(again.notes.empty());
    EXPECT_EQ(again.hasher.k0(), created.hasher.k0());
    EXPECT_EQ(again.hasher.k1(), created.hasher.k1());
    EXPECT_EQ(again.fingerprint, created.fingerprint);
}

// Hosts of one fleet may run different versions: the derivation (the
// header's) must never change. Computed apart from this code, by a Python
// SipHash-2-4 checked against the paper's vectors.
TEST(FleetKey, TheKeyAndFingerprintAreDerivedAsDocumented) {
    const testing::TempFolder folder;
    const FleetKey counting =
        load_fleet_key(write_key(folder, "a.key", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
    EXPECT_EQ(counting.hasher.k0(), 0x6a2e1d89502a0d02u);
    EXPECT_EQ(counting.hasher.k1(), 0x76adc84fc9d53dc7u);
    EXPECT_EQ(counting.fingerprint, "bcb0b9342910503c");
    EXPECT_TRUE(counting.notes.empty());

    // Upper-case digits and whitespace around them: the same key.
    const FleetKey ones = load_fleet_key(write_key(folder, "b.key", " \n\t" + std::string(64, 'F') + "\r\n\n"));
    EXPECT_EQ(ones.hasher.k0(), 0xd3a9553a5021b827u);
    EXPECT_EQ(ones.hasher.k1(), 0xec3d09d325230189u);
    EXPECT_EQ(ones.fingerprint, "72795d8bf7b525ad");
}

TEST(FleetKey, DifferentKeysHaveDifferentFingerprints) {
    const testing::TempFolder folder;
    const FleetKey a = load_fleet_key(folder / "a.key");
    const FleetKey b = load_fleet_key(folder / "b.key");
    EXPECT_NE(a.fingerprint, b.fingerprint);
    EXPECT_NE(a.hasher("token"), b.hasher("token"));

    // The last byte counts as much as the first.
    const std::string zeros(64, '0');
    const FleetKey first = load_fleet_key(write_key(folder, "zeros.key", zeros));
    const FleetKey last = load_fleet_key(write_key(folder, "one.key", zeros.substr(0, 63) + "1"));
    EXPECT_NE(first.fingerprint, last.fingerprint);
    EXPECT_NE(first.hasher.k0(), last.hasher.k0());
    EXPECT_NE(first.hasher.k1(), last.hasher.k1());
}

TEST(FleetKey, ConcurrentFirstStartsAgreeOnOneKey) {
    const testing::TempFolder folder;
    const fs::path file = folder / "fleet.key";
    std::vector<std::optional<FleetKey>> keys(8);
    std::vector<std::thread> starts;
    for (std::optional<FleetKey>& key : keys) starts.emplace_back([&] { key = load_fleet_key(file); });
    for (std::thread& t : starts) t.join();
    int created = 0;
    for (const std::optional<FleetKey>& key : keys) {
        EXPECT_EQ(key->fingerprint, keys[0]->fingerprint);
        created += !key->notes.empty();
    }
    EXPECT_EQ(created, 1);
}

TEST(FleetKey, AFileOthersMayUseIsRefused) {
    const testing::TempFolder folder;
    const std::string key(64, 'a');
    for (const auto& [mode, reason] :
         {std::pair{0644, "is readable by others (mode 0644); chmod 600 it"},
          std::pair{0640, "is readable by others (mode 0640); chmod 600 it"},
          std::pair{0604, "is readable by others (mode 0604); chmod 600 it"},
          std::pair{0620, "is writable by others (mode 0620); chmod 600 it"}, std::pair{0700, ""}, std::pair{0400, ""},
          std::pair{0601, "is executable by others (mode 0601); chmod 600 it"}}) {
        const fs::path file = write_key(folder, "fleet.key", key, fs::perms(mode));
        if (*reason == '\0') {
            EXPECT_EQ(load_fleet_key(file).fingerprint.size(), 16u) << std::oct << mode;
        } else {
            EXPECT_EQ(error_of(file), "fleet key file " + file.string() + ": " + reason);
        }
    }
}

TEST(FleetKey, ContentThatIsNot64HexDigitsIsRefusedWithoutQuotingIt) {
    const testing::TempFolder folder;
    const std::string key(64, 'a');
    for (const auto& [text, reason] : {
             std::pair{std::string(), "is not 64 hex digits (it holds 0 characters)"},
             std::pair{std::string(" \n"), "is not 64 hex digits (it holds 0 characters)"},
             std::pair{key.substr(1), "is not 64 hex digits (it holds 63 characters)"},
             std::pair{key + "a", "is not 64 hex digits (it holds 65 characters)"},
             std::pair{key.substr(0, 32) + " " + key.substr(0, 31),
                       "is not 64 hex digits (character 33 is not a hex digit)"},
             std::pair{"\n" + key.substr(0, 4) + "g" + key.substr(5),
                       "is not 64 hex digits (character 5 is not a hex digit)"},
             std::pair{"0x" + key.substr(2), "is not 64 hex digits (character 2 is not a hex digit)"},
         }) {
        const fs::path file = write_key(folder, "fleet.key", text);
        EXPECT_EQ(error_of(file), "fleet key file " + file.string() + ": " + reason) << '"' << text << '"';
    }
}

TEST(FleetKey, AnythingButARegularFileIsRefused) {
    const testing::TempFolder folder;
    const fs::path directory = folder / "fleet.key";
    fs::create_directory(directory);
    EXPECT_EQ(error_of(directory), "fleet key file " + directory.string() + ": not a regular file");

    const fs::path fifo = folder / "fifo.key";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_EQ(error_of(fifo), "fleet key file " + fifo.string() + ": not a regular file");

    folder.write("plain-file", "x");
    const fs::path through_file = folder / "plain-file/fleet.key";
    EXPECT_EQ(error_of(through_file), "fleet key file " + through_file.string() + ": Not a directory");

    const fs::path large = write_key(folder, "large.key", std::string(4097, ' '));
    EXPECT_EQ(error_of(large), "fleet key file " + large.string() + ": larger than 4 KiB");
}

}  // namespace
}  // namespace sluice
