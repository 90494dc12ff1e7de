/* Sizes the XDP program's tables before it is loaded, for everyone who loads
 * it (sluiced, the tests, the bench): the map sizes and the masks the program
 * reads from .rodata must agree. Include after "sluice_xdp.skel.h". */
#ifndef SLUICE_XDP_SIZES_H
#define SLUICE_XDP_SIZES_H

#include "sluice_xdp_abi.h"

#include <bpf/libbpf.h>

/* 0, or a negative error from libbpf. */
static inline int sluice_xdp_set_sizes(struct sluice_xdp *skeleton, __u32 max_sources, __u32 max_blocked)
{
    const __u32 buckets = sluice_source_buckets(max_sources);
    const __u32 filter_words = sluice_block_filter_words(max_blocked);
    int err = bpf_map__set_max_entries(skeleton->maps.sources, buckets);
    if (!err)
        err = bpf_map__set_max_entries(skeleton->maps.source_tags, sluice_source_tag_entries(buckets));
    if (!err)
        err = bpf_map__set_max_entries(skeleton->maps.blocked, max_blocked);
    if (!err)
        err = bpf_map__set_max_entries(skeleton->maps.block_filter, sluice_block_filter_entries(filter_words));
    skeleton->rodata->source_bucket_mask = buckets - 1;
    skeleton->rodata->block_filter_words = filter_words;
    return err;
}

#endif /* SLUICE_XDP_SIZES_H */
