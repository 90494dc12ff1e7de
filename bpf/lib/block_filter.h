/* The block filter (see struct sluice_block_filter_entry in the ABI header)
 * as the program reads and writes it: a source whose bits are not set is not
 * in the block map, and its packet skips that lookup. */
#ifndef SLUICE_BPF_BLOCK_FILTER_H
#define SLUICE_BPF_BLOCK_FILTER_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "sluice_xdp_abi.h"

/* filter: the block_filter array map, `words` entries before its last. */
static __always_inline int may_be_blocked(void *filter, __u64 hash, __u32 words)
{
    __u32 index = sluice_block_filter_word(hash, words);
    struct sluice_block_filter_entry *entry = bpf_map_lookup_elem(filter, &index);
    if (!entry)
        return 1;
    __u64 bits = sluice_block_filter_bits(hash);
    return (entry->bits[0] & bits) == bits || (entry->bits[1] & bits) == bits;
}

/* After the source went into the block map. */
static __always_inline void add_to_block_filter(void *filter, __u64 hash, __u32 words)
{
    struct sluice_block_filter_entry *control = bpf_map_lookup_elem(filter, &words);
    __u32 index = sluice_block_filter_word(hash, words);
    struct sluice_block_filter_entry *entry = bpf_map_lookup_elem(filter, &index);
    if (!control || !entry)
        return;
    __u32 generation = *(volatile __u64 *)&control->bits[0] % SLUICE_BLOCK_FILTER_GENERATIONS;
    __sync_fetch_and_or(&entry->bits[generation], sluice_block_filter_bits(hash));
}

#endif /* SLUICE_BPF_BLOCK_FILTER_H */
