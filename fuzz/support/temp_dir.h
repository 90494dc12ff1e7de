// A folder of the target's own for the files an input becomes, made once per
// process and emptied between inputs. Under /dev/shm when there is one: the
// state-file code fsyncs every write, which on tmpfs costs nothing, so the
// fuzzer keeps its speed.
#pragma once

#include <filesystem>
#include <string_view>

namespace sluice::fuzz {

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    // Removes everything in it (the folder stays).
    void clear() const;
    std::filesystem::path write(const std::filesystem::path& name, std::string_view bytes) const;

private:
    std::filesystem::path path_;
};

// The one per process (a static), so every input does not pay for mkdtemp.
const TempDir& scratch_dir();

}  // namespace sluice::fuzz
