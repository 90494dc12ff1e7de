/* Sluice's XDP program: drops floods and blocked sources before the kernel
 * builds an skb. Per packet, in order: allow list -> deny list -> block map
 * (with expiry) -> port filter -> per-source GCRA rate. Anything it does not
 * understand passes. sluiced writes the config map and the lists, and reads
 * the per-CPU stats. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sluice_xdp_abi.h"
#include "lib/gcra.h"
#include "lib/parse.h"

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
    __uint(max_entries, 65536); /* sluiced sets xdp.max_blocked */
    __type(key, struct sluice_source_key);
    __type(value, struct sluice_block_entry);
} blocked SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536); /* sluiced sets xdp.max_sources */
    __type(key, struct sluice_source_key);
    __type(value, struct sluice_source_state);
} sources SEC(".maps");

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

static __always_inline void count(__u32 slot, __u32 stat, __u64 bytes)
{
    __u32 index = slot * SLUICE_STAT_COUNT + stat;
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

/* A source seen for the first time. Inserting costs ~20x a lookup, so each
 * CPU inserts at most one per insert_interval_ns (plus a bank): a spoofed
 * random-source spray then pays for a lookup, not an insert, on nearly every
 * packet, while a real flooder, being many of the packets, is tracked within
 * a few intervals. */
static __always_inline __u32 track_new_source(const struct sluice_source_key *key, __u64 now,
                                              const struct sluice_xdp_config *cfg, __u64 blocked_until)
{
    __u32 zero = 0;
    struct sluice_insert_budget *budget = bpf_map_lookup_elem(&insert_budget, &zero);
    if (!budget || !gcra_admit_local(&budget->tat_ns, now, cfg->insert_interval_ns, cfg->insert_burst_ns))
        return SLUICE_PASS_GATED;
    struct sluice_source_state state = {.tat_ns = now + cfg->emission_ns, .blocked_until_ns = blocked_until};
    /* Losing a race with another CPU inserting the same source is fine: that
     * CPU's entry counts from now on. */
    bpf_map_update_elem(&sources, key, &state, BPF_NOEXIST);
    return SLUICE_PASS_RATE_OK;
}

/* Blocks a source over its rate: in the block map, which survives LRU
 * eviction, and in its own state, which the next packet reads. When the block
 * map is full the packet is still dropped (by the rate) and the block holds
 * while the source stays tracked; the loss is counted. */
static __always_inline void block_source(const struct sluice_source_key *key, struct sluice_source_state *state,
                                         __u64 until, __u32 slot)
{
    *(volatile __u64 *)&state->blocked_until_ns = until;
    struct sluice_block_entry entry = {.expires_ns = until, .origin = SLUICE_BLOCKED_BY_RATE};
    if (bpf_map_update_elem(&blocked, key, &entry, BPF_ANY))
        count(slot, SLUICE_EVENT_BLOCK_FULL, 0);
}

static __always_inline __u32 decide(const struct sluice_xdp_config *cfg, void *data, void *data_end, __u32 slot)
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
    __u64 now = bpf_ktime_get_coarse_ns();
    /* A tracked source carries its block; only an untracked one needs the
     * block map. */
    __u64 blocked_until = 0;
    struct sluice_source_state *state = bpf_map_lookup_elem(&sources, &key);
    if (state) {
        blocked_until = *(volatile __u64 *)&state->blocked_until_ns;
    } else {
        struct sluice_block_entry *block = bpf_map_lookup_elem(&blocked, &key);
        if (block)
            blocked_until = *(volatile __u64 *)&block->expires_ns;
    }
    if (now < blocked_until)
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

    if (!state)
        return track_new_source(&key, now, cfg, blocked_until);
    if (gcra_admit_shared(&state->tat_ns, now, cfg->emission_ns, cfg->burst_ns))
        return SLUICE_PASS_RATE_OK;
    if (cfg->block_ns)
        block_source(&key, state, now + cfg->block_ns, slot);
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

    __u32 slot = iface_slot(cfg, ctx->ingress_ifindex);
    __u32 verdict = decide(cfg, data, data_end, slot);
    count(slot, verdict, data_end - data);
    return verdict >= SLUICE_DROP_DENIED ? XDP_DROP : XDP_PASS;
}
