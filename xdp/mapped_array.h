// A BPF array map created with BPF_F_MMAPABLE, mapped into this process: its
// values are read and written in place (with atomics where the XDP program
// writes the same words) instead of copied through syscalls.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice {

class MappedArray {
public:
    // Throws std::runtime_error unless the map holds values of `value_size`
    // bytes and can be mapped.
    MappedArray(int map_fd, std::uint32_t value_size);
    MappedArray(MappedArray&& other) noexcept;
    MappedArray& operator=(MappedArray&& other) noexcept;
    MappedArray(const MappedArray&) = delete;
    MappedArray& operator=(const MappedArray&) = delete;
    ~MappedArray();

    std::uint32_t entries() const { return entries_; }
    // Entry i, as a T of the value size the array was mapped with.
    template <typename T>
    T& at(std::uint32_t i) const {
        return static_cast<T*>(base_)[i];
    }

private:
    void* base_ = nullptr;
    std::size_t length_ = 0;
    std::uint32_t entries_ = 0;
};

}  // namespace sluice
