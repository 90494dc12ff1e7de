// The files sluiced keeps in state_dir and reads at start: blocks.json
// (state/block_state.h) and quotas.json (the API's quotas and quota
// settings, read by ControlPlane::start through state/state_file.h).
// The input is both files, split by the part separator. Properties:
// - a damaged file is refused with a std::runtime_error that says why (and
//   for a file's own damage, names the file), never a crash or another
//   exception;
// - blocks read from a file hold only unexpired entries, and written back by
//   save_blocks they read back the same;
// - quotas.json that starts is written back by the real writer (a settings
//   change saves it) and a second start reads the same quotas and settings.
#include "state/block_state.h"
#include "control/control_plane.h"

#include "support/control_plane_rig.h"
#include "support/fuzz_check.h"
#include "support/input_split.h"
#include "support/temp_dir.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;
using sluice::fuzz::check;

// A refusal says why; when the file itself is wrong, it names the file.
void check_refusal(const std::string& what, const fs::path& file) {
    check(!what.empty(), "a refusal without a reason");
    if (what.starts_with(file.string())) {
        check(what.size() > file.string().size() + 2 && what.compare(file.string().size(), 2, ": ") == 0,
              "a refusal that names the file but no reason", what);
    }
}

void check_blocks(const fs::path& dir, const sluice::ClockReading& now) {
    std::vector<sluice::BlockEntry> loaded;
    try {
        loaded = sluice::load_blocks(dir, now);
    } catch (const std::runtime_error& e) {
        check_refusal(e.what(), sluice::blocks_file(dir));
        check(std::string_view(e.what()).starts_with(sluice::blocks_file(dir).string() + ": "),
              "a refused blocks.json is not named", e.what());
        return;
    }
    for (const sluice::BlockEntry& entry : loaded) check(entry.until > now.steady, "an expired block was loaded");
    sluice::save_blocks(dir, loaded, now);
    check(sluice::load_blocks(dir, now) == loaded, "blocks written back read back different");
}

// The control plane started on `config`, and the quotas it holds.
struct Plane {
    sluice::fuzz::ControlPlaneRig rig;
    sluice::ControlPlane& control = rig.control;

    explicit Plane(const sluice::Config& config) : rig(config, 64) {}
    std::vector<sluice::Quota> quotas() const {
        std::vector<sluice::Quota> out;
        for (const std::string& name : control.quota_names()) out.push_back(control.quota(name)->quota);
        return out;
    }
};

void check_quotas(const fs::path& dir) {
    sluice::Config config;
    config.state_dir = dir;
    std::unique_ptr<Plane> first;
    try {
        first = std::make_unique<Plane>(config);
    } catch (const std::runtime_error& e) {
        check_refusal(e.what(), dir / "quotas.json");
        return;
    }
    const std::vector<sluice::Quota> quotas = first->quotas();
    const sluice::QuotaSettings settings = first->control.settings();
    const sluice::Change saved = first->control.set_settings(settings);
    check(saved.ok(), "the settings read could not be saved again", saved.message);
    first.reset();
    std::unique_ptr<Plane> second;
    try {
        second = std::make_unique<Plane>(config);
    } catch (const std::runtime_error& e) {
        sluice::fuzz::fail("quotas.json written by sluiced is refused", e.what());
    }
    check(second->quotas() == quotas, "quotas written back read back different");
    check(second->control.settings() == settings, "quota settings written back read back different");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::vector<std::string_view> parts =
        sluice::fuzz::split_input(std::string_view(reinterpret_cast<const char*>(data), size), 2);
    const sluice::testing::TempFolder& dir = sluice::fuzz::scratch_dir();
    dir.clear();
    dir.write("blocks.json", parts[0]);
    if (!parts[1].empty()) dir.write("quotas.json", parts[1]);

    // 2026-11-23T10:00:00Z, at 1000 s on the steady clock (as the unit tests).
    const sluice::ClockReading now{1'000'000'000'000,
                                   std::chrono::system_clock::time_point(std::chrono::seconds(1'795'428'000))};
    check_blocks(dir.path(), now);
    dir.clear();
    if (!parts[1].empty()) dir.write("quotas.json", parts[1]);
    check_quotas(dir.path());
    return 0;
}
