/* Sluice's XDP program: drops floods and blocked sources before the kernel
 * builds an skb. Per packet, in order: allow list -> deny list -> block map
 * (with expiry) -> port filter -> per-source GCRA rate. Anything it does not
 * understand passes. sluiced writes the config map and the lists, adds its
 * blocks and keeps the block filter, and reads the per-CPU stats. Every map
 * lookup on the way of a tracked source's packet is an array lookup, which
 * the verifier inlines: with retpolines and SRSO "safe RET" on, each helper
 * call costs about as much as running a bare program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sluice_xdp_abi.h"
#include "lib/block_filter.h"
#include "lib/clock.h"
#include "lib/gcra.h"
#include "lib/parse.h"
#include "lib/source_table.h"

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sluice_xdp_config);
} sluice_config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 65536);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct sluice_lpm_key);
    __type(value, __u8);
} allow_cidrs SEC(".maps"), deny_cidrs SEC(".maps");

/* A plain hash, not an LRU: a flood of new entries must not flush blocks. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SLUICE_DEFAULT_MAX_BLOCKED); /* sluiced sets xdp.max_blocked */
    __type(key, struct sluice_source_key);
    __type(value, struct sluice_block_entry);
} blocked SEC(".maps");

/* Mapped by sluiced, which adds its blocks and rebuilds it. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SLUICE_DEFAULT_BLOCK_FILTER_WORDS + 1);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, struct sluice_block_filter_entry);
} block_filter SEC(".maps");

/* The tracked sources and their tags, sized from xdp.max_sources (see
 * sluice_xdp_set_sizes); mapped by sluiced, which clears a slot's block on
 * unblock. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SLUICE_DEFAULT_SOURCE_BUCKETS);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, struct sluice_source_bucket);
} sources SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SLUICE_DEFAULT_SOURCE_BUCKETS / SLUICE_TAG_BUCKETS);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, struct sluice_source_tags);
} source_tags SEC(".maps");

/* The sizes above, set with them before loading. */
const volatile __u32 source_bucket_mask = SLUICE_DEFAULT_SOURCE_BUCKETS - 1;
const volatile __u32 block_filter_words = SLUICE_DEFAULT_BLOCK_FILTER_WORDS;

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, SLUICE_STATS_ENTRIES);
    __type(key, __u32);
    __type(value, struct sluice_counter);
} stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sluice_insert_budget);
} insert_budget SEC(".maps");

static __always_inline __u32 iface_slot(const struct sluice_xdp_config *cfg, __u32 ifindex)
{
#pragma unroll
    for (__u32 i = 0; i < SLUICE_MAX_INTERFACES; i++)
        if (cfg->ifindex[i] == ifindex)
            return i;
    return SLUICE_MAX_INTERFACES;
}

static __always_inline void count(__u32 iface, __u32 stat, __u64 bytes)
{
    __u32 index = iface * SLUICE_STAT_COUNT + stat;
    struct sluice_counter *counter = bpf_map_lookup_elem(&stats, &index);
    if (counter) {
        counter->packets++;
        counter->bytes += bytes;
    }
}

static __always_inline void source_key(struct sluice_source_key *key, const struct parsed_packet *pkt,
                                       const struct sluice_xdp_config *cfg)
{
    __u64 words[2];
    __builtin_memcpy(words, pkt->source, 16);
    if (pkt->is_ipv6) {
        words[0] &= cfg->ipv6_mask[0];
        words[1] &= cfg->ipv6_mask[1];
    }
    __builtin_memcpy(key->addr, words, 16);
}

static __always_inline int port_limited(const struct sluice_xdp_config *cfg, __u16 port)
{
    return (cfg->port_bits[port >> 6] >> (port & 63)) & 1;
}

static __always_inline int in_list(void *trie, __u32 entries, const struct parsed_packet *pkt)
{
    if (!entries)
        return 0;
    struct sluice_lpm_key key = {.prefixlen = 128};
    __builtin_memcpy(key.addr, pkt->source, 16);
    return bpf_map_lookup_elem(trie, &key) != 0;
}

/* A source seen for the first time. Each CPU tracks at most one new source
 * per insert_interval_ns (plus a bank): a spoofed random-source spray then
 * pushes few tracked sources out of the table (and costs few bucket writes),
 * while a real flooder, being many of the packets, is tracked within a few
 * intervals. */
static __always_inline __u32 track_new_source(const struct source_place *place, __u64 now,
                                              const struct sluice_xdp_config *cfg)
{
    __u32 zero = 0;
    struct sluice_insert_budget *budget = bpf_map_lookup_elem(&insert_budget, &zero);
    if (!budget || !gcra_admit_local(&budget->tat_ns, now, cfg->insert_interval_ns, cfg->insert_burst_ns))
        return SLUICE_PASS_GATED;
    track_source(place, &sources, now + cfg->emission_ns);
    return SLUICE_PASS_RATE_OK;
}

/* Blocks a source over its rate: in the block map, then in the block filter.
 * When the block map is full the packet is still dropped (by the rate), the
 * loss is counted, and the block is kept in the source's slot: it holds
 * while the source stays tracked. */
static __always_inline void block_source(const struct sluice_source_key *key, __u64 hash,
                                         const struct source_place *place, struct sluice_source_slot *slot,
                                         __u64 seen, __u64 until, __u32 iface)
{
    struct sluice_block_entry entry = {.expires_ns = until, .origin = SLUICE_BLOCKED_BY_RATE};
    if (bpf_map_update_elem(&blocked, key, &entry, BPF_ANY) == 0) {
        add_to_block_filter(&block_filter, hash, block_filter_words);
        return;
    }
    count(iface, SLUICE_EVENT_BLOCK_FULL, 0);
    block_in_slot(slot, place->key, seen, until);
}

/* The block of a source: the later of the one kept in its slot and its
 * block map entry, which the block filter mostly rules out without a
 * lookup. */
static __always_inline __u64 blocked_until(const struct sluice_source_key *key, __u64 hash,
                                           const struct source_place *place, const struct sluice_source_slot *slot)
{
    __u64 until = slot ? slot_block(slot, place->key) : 0;
    if (may_be_blocked(&block_filter, hash, block_filter_words)) {
        struct sluice_block_entry *block = bpf_map_lookup_elem(&blocked, key);
        if (block) {
            __u64 expires = *(volatile __u64 *)&block->expires_ns;
            if (expires > until)
                until = expires;
        }
    }
    return until;
}

static __always_inline __u32 decide(const struct sluice_xdp_config *cfg, void *data, void *data_end, __u32 iface)
{
    struct parsed_packet pkt = {};
    if (parse_packet(&pkt, data, data_end) < 0)
        return SLUICE_PASS_UNPARSED;

    if (in_list(&allow_cidrs, cfg->allow_entries, &pkt))
        return SLUICE_PASS_ALLOWED;
    if (in_list(&deny_cidrs, cfg->deny_entries, &pkt))
        return SLUICE_DROP_DENIED;

    struct sluice_source_key key;
    source_key(&key, &pkt, cfg);
    __u64 hash = sluice_source_hash(&key);
    struct source_place place;
    place_source(&place, &source_tags, &key, hash, source_bucket_mask);
    struct sluice_source_slot *slot = find_source(&place, &sources);
    __u64 now = coarse_now_ns();
    if (now < blocked_until(&key, hash, &place, slot))
        return SLUICE_DROP_BLOCKED;

    /* A later fragment carries no port; it counts against its source like
     * the first one, or fragmenting would be a way around the rate. */
    if (cfg->port_filter && !pkt.later_fragment) {
        if (pkt.l4_truncated)
            return SLUICE_PASS_UNPARSED;
        if (!pkt.has_port || !port_limited(cfg, pkt.dest_port))
            return SLUICE_PASS_OTHER_PORT;
    }
    if (!cfg->emission_ns)
        return SLUICE_PASS_RATE_OK;

    __u64 seen = 0;
    enum rate_decision rate =
        slot ? rate_source(slot, place.key, now, cfg->emission_ns, cfg->burst_ns, &seen) : RATE_UNTRACKED;
    if (rate == RATE_UNTRACKED)
        return track_new_source(&place, now, cfg);
    if (rate == RATE_ADMIT)
        return SLUICE_PASS_RATE_OK;
    if (cfg->block_ns)
        block_source(&key, hash, &place, slot, seen, now + cfg->block_ns, iface);
    return SLUICE_DROP_RATE;
}

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u32 zero = 0;
    const struct sluice_xdp_config *cfg = bpf_map_lookup_elem(&sluice_config, &zero);
    if (!cfg)
        return XDP_PASS;

    __u32 iface = iface_slot(cfg, ctx->ingress_ifindex);
    __u32 verdict = decide(cfg, data, data_end, iface);
    count(iface, verdict, data_end - data);
    return verdict >= SLUICE_DROP_DENIED ? XDP_DROP : XDP_PASS;
}
