#include "support/temp_dir.h"

namespace sluice::fuzz {
namespace {

std::filesystem::path fastest_base() {
    std::error_code ec;
    return std::filesystem::is_directory("/dev/shm", ec) ? std::filesystem::path("/dev/shm")
                                                         : std::filesystem::temp_directory_path();
}

}  // namespace

const testing::TempFolder& scratch_dir() {
    static const testing::TempFolder dir(fastest_base());
    return dir;
}

}  // namespace sluice::fuzz
