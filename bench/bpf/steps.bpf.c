/* Bench-only XDP programs for bench/xdp_bench.cpp --variants: one building
 * block of bpf/sluice_xdp.bpf.c each, so its cost can be read against the
 * bare XDP_DROP floor. Each ends in XDP_DROP when the step did what was
 * expected, XDP_PASS otherwise (the bench checks the return value). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sluice_xdp_abi.h"
#include "lib/clock.h"

char LICENSE[] SEC("license") = "GPL";

struct key16 {
    __u8 addr[16];
};

struct lpm16 {
    __u32 prefixlen;
    __u8 addr[16];
};

struct lpm4 {
    __u32 prefixlen;
    __u8 addr[4];
};

/* Like sluice_xdp's blocked map: a plain hash with 16-byte keys. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, struct key16);
    __type(value, __u64);
} hash16 SEC(".maps");

/* Like allow_cidrs: IPv4 as IPv4-mapped 16-byte keys ... */
struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 65536);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct lpm16);
    __type(value, __u8);
} trie16 SEC(".maps");

/* ... and the same prefixes in an IPv4-only trie with 4-byte keys. */
struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 65536);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct lpm4);
    __type(value, __u8);
} trie4 SEC(".maps");

/* Like sluice_xdp's sources table: buckets looked up by index. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, struct sluice_source_bucket);
} buckets SEC(".maps");

/* The source the bench's packet carries: ::ffff:198.18.0.1. */
static __always_inline void source16(__u8 *addr)
{
    __builtin_memset(addr, 0, 10);
    addr[10] = 0xff;
    addr[11] = 0xff;
    addr[12] = 198;
    addr[13] = 18;
    addr[14] = 0;
    addr[15] = 1;
}

SEC("xdp")
int step_clock(struct xdp_md *ctx)
{
    return bpf_ktime_get_coarse_ns() ? XDP_DROP : XDP_PASS;
}

/* The other clocks sluice_xdp could read, for comparison. */
SEC("xdp")
int step_clock_ns(struct xdp_md *ctx)
{
    return bpf_ktime_get_ns() ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int step_jiffies(struct xdp_md *ctx)
{
    return bpf_jiffies64() ? XDP_DROP : XDP_PASS;
}

/* sluice_xdp's clock: bpf_jiffies64() (inlined) and a per-CPU entry; the
 * helper once per tick. */
SEC("xdp")
int step_cached_clock(struct xdp_md *ctx)
{
    return coarse_now_ns() ? XDP_DROP : XDP_PASS;
}

/* An array lookup, which the verifier inlines: no call. */
SEC("xdp")
int step_array(struct xdp_md *ctx)
{
    __u32 index = 7;
    return bpf_map_lookup_elem(&buckets, &index) ? XDP_DROP : XDP_PASS;
}

/* A helper whose body is next to nothing: the price of a call and return.
 * (Returns XDP_PASS once in 2^32 runs; the bench would report that.) */
SEC("xdp")
int step_call(struct xdp_md *ctx)
{
    return bpf_get_prandom_u32() == 1 ? XDP_PASS : XDP_DROP;
}

/* The bench puts the source in hash16 first. */
SEC("xdp")
int step_hash_hit(struct xdp_md *ctx)
{
    struct key16 key;
    source16(key.addr);
    return bpf_map_lookup_elem(&hash16, &key) ? XDP_DROP : XDP_PASS;
}

/* None of the bench's prefixes covers the source: a miss, like a source on
 * neither list. */
SEC("xdp")
int step_lpm16(struct xdp_md *ctx)
{
    struct lpm16 key = {.prefixlen = 128};
    source16(key.addr);
    return bpf_map_lookup_elem(&trie16, &key) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int step_lpm4(struct xdp_md *ctx)
{
    struct lpm4 key = {.prefixlen = 32, .addr = {198, 18, 0, 1}};
    return bpf_map_lookup_elem(&trie4, &key) ? XDP_PASS : XDP_DROP;
}
