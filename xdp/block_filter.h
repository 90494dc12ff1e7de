// The XDP program's block filter (sluice_block_filter_bits in
// bpf/sluice_xdp_abi.h), mapped: sluiced adds the blocks it makes and
// rebuilds the filter from the block map, which drops the bits of blocks
// that expired or were removed.
#pragma once

#include "xdp/abi.h"
#include "xdp/mapped_array.h"

#include <vector>

namespace sluice {

class BlockFilter {
public:
    // The program's block_filter map.
    explicit BlockFilter(int filter_fd);

    // After the source went into the block map.
    void add(const sluice_source_key& key);
    // `blocked`: every key of the block map, read after the previous
    // rebuild returned.
    void rebuild(const std::vector<sluice_source_key>& blocked);

private:
    __u64& current_generation() const;

    MappedArray entries_;
    __u32 words_;  // entries before the one holding the current generation
};

}  // namespace sluice
