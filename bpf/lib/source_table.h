/* The tracked-source table (see struct sluice_source_bucket in the ABI
 * header) as the program uses it: find a source, rate it, track a new one,
 * keep a block in its slot. Every access is an inlined array lookup. */
#ifndef SLUICE_BPF_SOURCE_TABLE_H
#define SLUICE_BPF_SOURCE_TABLE_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "sluice_xdp_abi.h"
#include "gcra.h"

/* Where a source belongs: its bucket, and its tag among the bucket's. */
struct source_place {
    __u64 key[2];
    struct sluice_source_tags *tags;
    __u32 bucket;
    __u8 tag;
};

/* Index in place->tags->tag of the tag of the bucket's slot `way`
 * (recomputed where used: the verifier must see it bounded). */
static __always_inline __u32 tag_index(const struct source_place *place, __u32 way)
{
    return (place->bucket % SLUICE_TAG_BUCKETS) * SLUICE_SOURCE_WAYS + way;
}

static __always_inline void place_source(struct source_place *place, void *source_tags,
                                         const struct sluice_source_key *key, __u64 hash, __u32 bucket_mask)
{
    __builtin_memcpy(place->key, key->addr, sizeof place->key);
    place->bucket = (__u32)hash & bucket_mask;
    __u32 entry = place->bucket / SLUICE_TAG_BUCKETS;
    place->tags = bpf_map_lookup_elem(source_tags, &entry); /* never NULL: the index is in range */
    place->tag = sluice_source_tag(hash);
}

static __always_inline int holds(const struct sluice_source_slot *slot, const __u64 *key)
{
    return *(volatile const __u64 *)&slot->key[0] == key[0] && *(volatile const __u64 *)&slot->key[1] == key[1];
}

static __always_inline __u64 read_tat(const struct sluice_source_slot *slot)
{
    return *(volatile const __u64 *)&slot->state.tat_ns;
}

/* The slot holding the source, or NULL. A source whose tag no slot of its
 * bucket carries is not tracked, and its bucket is not read. */
static __always_inline struct sluice_source_slot *find_source(const struct source_place *place, void *sources)
{
    struct sluice_source_bucket *bucket = 0;
    if (!place->tags)
        return 0;
#pragma unroll
    for (__u32 way = 0; way < SLUICE_SOURCE_WAYS; way++) {
        if (place->tags->tag[tag_index(place, way)] != place->tag)
            continue;
        if (!bucket) {
            bucket = bpf_map_lookup_elem(sources, &place->bucket);
            if (!bucket)
                return 0;
        }
        if (holds(&bucket->slot[way], place->key))
            return &bucket->slot[way];
    }
    return 0;
}

/* The block kept in the slot (0 if none), if the slot still holds the source. */
static __always_inline __u64 slot_block(const struct sluice_source_slot *slot, const __u64 *key)
{
    __u64 tat = read_tat(slot);
    __u64 until = *(volatile const __u64 *)&slot->state.blocked_until_ns;
    if (!until)
        return 0; /* the usual case: no block kept, nothing to check */
    if (tat == SLUICE_SOURCE_BUSY || !holds(slot, key) || read_tat(slot) != tat)
        return 0;
    return until;
}

enum rate_decision {
    RATE_ADMIT,
    RATE_REFUSE,
    RATE_UNTRACKED, /* the slot went to another source (or is going) */
};

/* GCRA on the slot's tat_ns with compare-and-swap. A CAS lost to another CPU
 * is retried with the new value; a source hot enough to lose three in a row
 * is refused, which errs on the side of the limit. On a refusal, *seen is
 * the tat_ns it was refused on. */
static __always_inline enum rate_decision rate_source(struct sluice_source_slot *slot, const __u64 *key, __u64 now,
                                                      __u64 emission_ns, __u64 burst_ns, __u64 *seen)
{
#pragma unroll
    for (int attempt = 0; attempt < 3; attempt++) {
        __u64 tat = read_tat(slot);
        if (tat == SLUICE_SOURCE_BUSY || !holds(slot, key))
            return RATE_UNTRACKED;
        __u64 next = gcra_next(tat, now, emission_ns, burst_ns);
        if (!next) {
            if (read_tat(slot) != tat) /* rewritten since: decide again */
                continue;
            *seen = tat;
            return RATE_REFUSE;
        }
        if (__sync_val_compare_and_swap(&slot->state.tat_ns, tat, next) == tat)
            return RATE_ADMIT;
    }
    *seen = read_tat(slot);
    return RATE_REFUSE;
}

/* How recently the slot's source was active: an empty slot is 0, a busy one
 * the most. */
static __always_inline __u64 liveness(const struct sluice_source_slot *slot)
{
    __u64 tat = read_tat(slot);
    __u64 until = *(volatile const __u64 *)&slot->state.blocked_until_ns;
    return tat == SLUICE_SOURCE_BUSY || tat > until ? tat : until;
}

/* Tracks the source from now on with the given tat_ns, in the empty or least
 * active slot of its bucket. Losing a race for the slot leaves the source
 * untracked (or tracked by the CPU that won): fine, its next packet finds it
 * or tries again. */
static __always_inline void track_source(const struct source_place *place, void *sources, __u64 tat)
{
    struct sluice_source_bucket *bucket = bpf_map_lookup_elem(sources, &place->bucket);
    if (!bucket || !place->tags)
        return;
#pragma unroll
    for (__u32 way = 0; way < SLUICE_SOURCE_WAYS; way++) {
        __u64 held = read_tat(&bucket->slot[way]);
        if (held && held != SLUICE_SOURCE_BUSY && holds(&bucket->slot[way], place->key)) {
            /* Tracked meanwhile by another CPU, or its tag was lost (a tags
             * map made anew beside a reused table): the tag finds it again. */
            *(volatile __u8 *)&place->tags->tag[tag_index(place, way)] = place->tag;
            return;
        }
    }
    __u32 way = 0;
    __u64 least = liveness(&bucket->slot[0]);
#pragma unroll
    for (__u32 other = 1; other < SLUICE_SOURCE_WAYS; other++) {
        __u64 active = liveness(&bucket->slot[other]);
        if (active < least) {
            least = active;
            way = other;
        }
    }
    struct sluice_source_slot *slot = &bucket->slot[way];
    __u64 old = read_tat(slot);
    if (old == SLUICE_SOURCE_BUSY || __sync_val_compare_and_swap(&slot->state.tat_ns, old, SLUICE_SOURCE_BUSY) != old)
        return;
    *(volatile __u64 *)&slot->key[0] = place->key[0];
    *(volatile __u64 *)&slot->key[1] = place->key[1];
    *(volatile __u64 *)&slot->state.blocked_until_ns = 0;
    *(volatile __u8 *)&place->tags->tag[tag_index(place, way)] = place->tag;
    __sync_lock_test_and_set(&slot->state.tat_ns, tat); /* publishes the writes above */
}

/* Keeps a block in the slot (when the block map is full), if the slot still
 * holds the source with tat_ns `seen`. */
static __always_inline void block_in_slot(struct sluice_source_slot *slot, const __u64 *key, __u64 seen, __u64 until)
{
    if (seen == SLUICE_SOURCE_BUSY ||
        __sync_val_compare_and_swap(&slot->state.tat_ns, seen, SLUICE_SOURCE_BUSY) != seen)
        return;
    if (holds(slot, key))
        *(volatile __u64 *)&slot->state.blocked_until_ns = until;
    __sync_lock_test_and_set(&slot->state.tat_ns, seen);
}

#endif /* SLUICE_BPF_SOURCE_TABLE_H */
