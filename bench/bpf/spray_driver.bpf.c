/* Bench-only XDP programs for bench/xdp_bench.cpp (never loaded by sluiced).
 *
 * BPF_PROG_RUN repeats one packet, so every run of a program sees the same
 * source address. spray_driver gives each run a new one: it writes a scrambled
 * run counter into the IPv4 source address, then tail-calls whatever program
 * sits in targets[0] (sluice_xdp, or xdp_drop for the floor of the same path).
 * xdp_drop is the bare floor: return XDP_DROP, nothing else. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} targets SEC(".maps");

/* Runs so far; BPF_PROG_RUN runs on one CPU at a time, so a plain global is
 * exact. The bench reads it to check that every run got its own source. */
__u64 runs = 0;

/* Multiplying by an odd constant is a bijection on 32 bits: 2^32 runs, 2^32
 * distinct sources, spread over the whole address space (and so over every
 * bucket of the kernel's hash tables) instead of counting up in one /16. */
#define SCRAMBLE 0x9E3779B1u

SEC("xdp")
int spray_driver(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return XDP_ABORTED;
    __u32 n = (__u32)runs++;
    ip->saddr = bpf_htonl(n * SCRAMBLE);
    bpf_tail_call(ctx, &targets, 0);
    return XDP_ABORTED; /* empty slot: the bench counts this as a failure */
}

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
    return XDP_DROP;
}
