#include "controller/state_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace sluice {
namespace {

[[noreturn]] void fail(const std::filesystem::path& file, int error) {
    throw std::runtime_error("cannot write " + file.string() + ": " + std::strerror(error));
}

// 0 or an errno.
int write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        const ssize_t written = ::write(fd, text.data(), text.size());
        if (written < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        text.remove_prefix(static_cast<std::size_t>(written));
    }
    return 0;
}

std::filesystem::path folder_of(const std::filesystem::path& file) {
    return file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
}

// The rename is durable only once the folder's entry is on disk.
int sync_folder(const std::filesystem::path& folder) {
    const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno;
    const int error = ::fsync(fd) == 0 ? 0 : errno;
    ::close(fd);
    return error;
}

}  // namespace

void write_file_atomically(const std::filesystem::path& file, std::string_view text) {
    const std::filesystem::path folder = folder_of(file);
    // mkostemp: a unique name, created with O_CREAT | O_EXCL and mode 0600.
    // In the same folder, so the rename stays on one filesystem.
    std::string temp = (folder / ("." + file.filename().string() + ".XXXXXX")).string();
    const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
    if (fd < 0) fail(file, errno);

    int error = write_all(fd, text);
    if (error == 0 && ::fsync(fd) != 0) error = errno;
    if (::close(fd) != 0 && error == 0) error = errno;
    if (error == 0 && ::rename(temp.c_str(), file.c_str()) != 0) error = errno;
    if (error != 0) {
        ::unlink(temp.c_str());
        fail(file, error);
    }
    // The new content is in place, but not yet certain to survive a crash.
    if (const int folder_error = sync_folder(folder)) fail(file, folder_error);
}

void sync_folder_of(const std::filesystem::path& file) {
    if (const int error = sync_folder(folder_of(file))) fail(file, error);
}

}  // namespace sluice
