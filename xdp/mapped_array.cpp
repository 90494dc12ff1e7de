#include "xdp/mapped_array.h"

#include <bpf/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace sluice {

MappedArray::MappedArray(int map_fd, std::uint32_t value_size) {
    bpf_map_info info{};
    __u32 length = sizeof info;
    if (bpf_obj_get_info_by_fd(map_fd, &info, &length) != 0)
        throw std::runtime_error(std::string("reading the size of an XDP map: ") + std::strerror(errno));
    // Values lie back to back from offset 0; sizes that are multiples of 8
    // need no padding.
    if (info.value_size != value_size || value_size % 8 != 0)
        throw std::runtime_error(std::string("XDP map ") + info.name + " holds values of " +
                                 std::to_string(info.value_size) + " bytes, not " + std::to_string(value_size));
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    length_ = (static_cast<std::size_t>(info.max_entries) * value_size + page - 1) / page * page;
    base_ = mmap(nullptr, length_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
    if (base_ == MAP_FAILED) {
        base_ = nullptr;
        throw std::runtime_error(std::string("mapping XDP map ") + info.name + ": " + std::strerror(errno));
    }
    entries_ = info.max_entries;
}

MappedArray::MappedArray(MappedArray&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      length_(std::exchange(other.length_, 0)),
      entries_(std::exchange(other.entries_, 0)) {}

MappedArray& MappedArray::operator=(MappedArray&& other) noexcept {
    if (this != &other) {
        if (base_) munmap(base_, length_);
        base_ = std::exchange(other.base_, nullptr);
        length_ = std::exchange(other.length_, 0);
        entries_ = std::exchange(other.entries_, 0);
    }
    return *this;
}

MappedArray::~MappedArray() {
    if (base_) munmap(base_, length_);
}

}  // namespace sluice
