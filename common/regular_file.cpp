#include "common/regular_file.h"

#include "common/fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice {
namespace {

FileText failed(int error_number) { return {std::nullopt, std::strerror(error_number), error_number}; }

FileText too_large(std::size_t max_bytes) { return {std::nullopt, "larger than " + byte_size_text(max_bytes), 0}; }

}  // namespace

FileText read_regular_file(const std::filesystem::path& file, std::size_t max_bytes) {
    const Fd fd(::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!fd) return failed(errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return failed(errno);
    if (!S_ISREG(st.st_mode)) return {std::nullopt, "not a regular file", 0};
    if (static_cast<std::uintmax_t>(st.st_size) > max_bytes) return too_large(max_bytes);
    std::string text;
    text.reserve(static_cast<std::size_t>(st.st_size));
    char buffer[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return failed(errno);
        if (n == 0) return {std::move(text), {}, 0, static_cast<unsigned>(st.st_mode & 07777)};
        // The file may grow while it is read.
        if (text.size() + static_cast<std::size_t>(n) > max_bytes) return too_large(max_bytes);
        text.append(buffer, static_cast<std::size_t>(n));
    }
}

std::string byte_size_text(std::size_t bytes) {
    if (bytes >= (1 << 20) && bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
    if (bytes >= (1 << 10) && bytes % (1 << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
    return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
}

}  // namespace sluice
