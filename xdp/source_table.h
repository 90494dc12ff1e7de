// The XDP program's table of tracked sources (struct sluice_source_bucket in
// bpf/sluice_xdp_abi.h), mapped: what sluiced and the tests read and write
// of it. The program writes it concurrently; every access follows the
// table's rules in the ABI header.
#pragma once

#include "xdp/abi.h"
#include "xdp/mapped_array.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace sluice {

class SourceTable {
public:
    // The program's sources and source_tags maps.
    SourceTable(int sources_fd, int tags_fd);

    std::optional<sluice_source_state> state(const sluice_source_key& key) const;
    // Ends the block kept in the source's slot (see sluice_source_state);
    // whether it had one, expired or not.
    bool end_block(const sluice_source_key& key);
    // Every tracked source, in table order.
    std::vector<sluice_source_key> keys() const;
    // Tracks the source with this tat_ns and no block, in its slot if it has
    // one, else as the program tracks a new source. For tests.
    void track(const sluice_source_key& key, std::uint64_t tat_ns);
    // Forgets every source: empty slots, no tags. Only while the program is
    // not running (tests, the fuzzer), which start each case from nothing.
    void clear();

private:
    sluice_source_bucket& bucket_of(const sluice_source_key& key) const;
    sluice_source_slot* find(const sluice_source_key& key) const;

    MappedArray buckets_;
    MappedArray tags_;
};

}  // namespace sluice
