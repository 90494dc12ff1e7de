// The config loader (config/config.h) with a quota file: the input is
// sluice.json and quotas.d/fuzz.json, split by the part separator, written
// into a folder of their own (the config's quota_files and relative paths
// resolve there). Properties:
// - a config is either valid or has errors, never both; each error names the
//   file it is in and a reason (what `sluiced --check` prints);
// - the quotas of a valid config go through the writer sluiced persists them
//   with: parse_quota(quota_to_json(q)) == q;
// - the same config with its quotas written inline by that writer (and no
//   quota files) loads again, with the same quotas and settings.
#include "config/config.h"
#include "config/quota_json.h"
#include "config/quota_to_json.h"

#include "support/fuzz_check.h"
#include "support/input_split.h"
#include "support/temp_dir.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;
using sluice::fuzz::check;

std::string errors_text(const std::vector<sluice::ConfigError>& errors) {
    std::string text;
    for (const sluice::ConfigError& e : errors) text += sluice::to_string(e) + "\n";
    return text;
}

void check_quota_round_trip(const sluice::Quota& quota) {
    const sluice::Json written = sluice::quota_to_json(quota);
    std::vector<sluice::ConfigError> errors;
    const sluice::Quota read = sluice::parse_quota(sluice::JsonField(written, "", errors));
    check(errors.empty(), "a valid quota written by quota_to_json is refused",
          written.dump() + "\n" + errors_text(errors));
    check(read == quota, "a quota written by quota_to_json reads back different", written.dump());
}

void check_same_settings(const sluice::Config& a, const sluice::Config& b, const std::string& text) {
    check(a.quotas == b.quotas, "quotas written inline load differently", text);
    check(a.proxy.listen == b.proxy.listen && a.proxy.upstream == b.proxy.upstream && a.headers == b.headers &&
              a.path_matching == b.path_matching && a.max_keys == b.max_keys && a.admin == b.admin &&
              a.state_dir == b.state_dir && a.max_blocks == b.max_blocks,
          "settings changed when only the quotas were written anew", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::vector<std::string_view> parts =
        sluice::fuzz::split_input(std::string_view(reinterpret_cast<const char*>(data), size), 2);
    const sluice::testing::TempFolder& dir = sluice::fuzz::scratch_dir();
    dir.clear();
    const fs::path config_file = dir.write("sluice.json", parts[0]);
    dir.write("quotas.d/fuzz.json", parts[1]);

    const sluice::ConfigLoad load = sluice::load_config(config_file);
    if (!load.ok()) {
        for (const sluice::ConfigError& e : load.errors) {
            check(!e.file.empty() && !e.reason.empty(), "an error without a file or a reason",
                  errors_text(load.errors));
        }
        return 0;
    }
    check(load.config.quota_sources.size() == load.config.quotas.size(), "a quota without the file it is defined in");
    for (const sluice::Quota& quota : load.config.quotas) check_quota_round_trip(quota);

    // The same document with the quotas inline, as the writer spells them.
    sluice::Json document = sluice::Json::parse(parts[0]);
    sluice::Json quotas = sluice::Json::array();
    for (const sluice::Quota& quota : load.config.quotas) quotas.push_back(sluice::quota_to_json(quota));
    document["quotas"] = std::move(quotas);
    document.erase("quota_files");
    const std::string rewritten = document.dump(2);
    const sluice::ConfigLoad again = sluice::load_config(dir.write("rewritten.json", rewritten));
    check(again.ok(), "a config with its quotas written inline is refused",
          rewritten + "\n" + errors_text(again.errors));
    check_same_settings(load.config, again.config, rewritten);
    return 0;
}
