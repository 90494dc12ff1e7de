#include "state/state_file.h"

#include "common/random_id.h"
#include "common/regular_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

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

bool create_file_once(const std::filesystem::path& file, std::string_view text) {
    const std::filesystem::path folder = folder_of(file);
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec) throw std::runtime_error("cannot create folder " + folder.string() + ": " + ec.message());

    const std::filesystem::path temporary = file.string() + ".new-" + random_hex(8);
    write_file_atomically(temporary, text);
    const bool linked = ::link(temporary.c_str(), file.c_str()) == 0;
    const int link_error = errno;
    ::unlink(temporary.c_str());
    if (!linked && link_error != EEXIST)
        throw std::runtime_error("cannot create: " + std::string(std::strerror(link_error)));
    sync_folder_of(file);  // a power cut must not lose a file once its content was used
    return linked;
}

std::optional<std::string> read_state_file(const std::filesystem::path& file, std::size_t max_bytes) {
    FileText read = read_regular_file(file, max_bytes);
    // A dangling symbolic link is a damaged state, not a missing one.
    if (read.error_number == ENOENT && !std::filesystem::is_symlink(file)) return std::nullopt;
    if (!read.text) throw std::runtime_error(file.string() + ": " + read.error);
    return std::move(read.text);
}

std::optional<Json> read_state_json(const std::filesystem::path& file) {
    const std::optional<std::string> text = read_state_file(file, kMaxStateJsonBytes);
    if (!text) return std::nullopt;
    // As config files: a depth that would overflow the stack is refused.
    JsonDocument document = parse_json_document(*text);
    if (!document.root) throw_first_error(file, {std::move(document.error)});
    return std::move(document.root);
}

void throw_first_error(const std::filesystem::path& file, std::vector<ConfigError> errors) {
    if (errors.empty()) return;
    errors.front().file = file.string();
    throw std::runtime_error(to_string(errors.front()));
}

void sync_folder_of(const std::filesystem::path& file) {
    if (const int error = sync_folder(folder_of(file))) fail(file, error);
}

}  // namespace sluice
