/* The flood (bench/flood/run.sh): flood_gen runs this program with
 * BPF_PROG_RUN in live-frames mode, so every run sends one frame. It gives
 * the frame the next of SOURCE_COUNT source addresses from SOURCE_FIRST (in
 * turn), fixes the IPv4 header checksum and redirects it into the veth that
 * leads to the host. The host veth then gets XDP frames, the way a NIC
 * driver gets pages from its receive ring: with XDP no skb exists before the
 * filter decides; without, the driver (veth) builds one.
 * Built by run.sh with -DTARGET_IFINDEX=<that veth> -DSOURCE_FIRST=<IPv4 as
 * a host-order number> -DSOURCE_COUNT=<n>. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#if !defined(TARGET_IFINDEX) || !defined(SOURCE_FIRST) || !defined(SOURCE_COUNT)
#error "build with -DTARGET_IFINDEX=... -DSOURCE_FIRST=... -DSOURCE_COUNT=..."
#endif

char LICENSE[] SEC("license") = "GPL";

/* Frames made so far; BPF_PROG_RUN runs on one CPU, so a plain global. */
__u64 frames = 0;

static __always_inline __u16 ipv4_checksum(const struct iphdr *ip)
{
    const __u16 *word = (const __u16 *)ip;
    __u32 sum = 0;
#pragma unroll
    for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
        sum += word[i];
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)~sum;
}

SEC("xdp")
int flood_gen(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct iphdr *ip = data + sizeof(struct ethhdr);

    if ((void *)(ip + 1) > data_end)
        return XDP_ABORTED;
    ip->saddr = bpf_htonl(SOURCE_FIRST + (__u32)(frames++ % SOURCE_COUNT));
    ip->check = 0;
    ip->check = ipv4_checksum(ip);
    return bpf_redirect(TARGET_IFINDEX, 0);
}
