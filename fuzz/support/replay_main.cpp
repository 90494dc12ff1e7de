// A main for the fuzz targets in builds without libFuzzer: runs every file
// of the folders (or files) given once through LLVMFuzzerTestOneInput, so
// ctest checks the seeds and the inputs that once crashed. A folder that
// does not exist is skipped (a target may have no regressions yet); one
// with no file at all is an error, so a misspelt corpus path cannot pass.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

namespace {

void run_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
    if (LLVMFuzzerInitialize != nullptr) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    std::size_t inputs = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path path = argv[i];
        if (std::filesystem::is_regular_file(path)) {
            run_file(path);
            ++inputs;
            continue;
        }
        if (!std::filesystem::is_directory(path)) {
            continue;
        }
        for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
            if (entry.is_regular_file()) {
                run_file(entry.path());
                ++inputs;
            }
        }
    }
    if (inputs == 0) {
        std::cerr << argv[0] << ": no input file in the folders given\n";
        return 1;
    }
    std::cout << argv[0] << ": " << inputs << " inputs ran\n";
    return 0;
}
