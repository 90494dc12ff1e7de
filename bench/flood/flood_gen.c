/* The flood's sender (bench/flood/run.sh): loads flood_gen.bpf.o and runs it
 * with BPF_PROG_RUN in live-frames mode on one 60-byte IPv4/UDP frame (64
 * bytes on a wire), so the kernel sends a frame per run, as fast as this CPU
 * can, until a signal stops it. The program picks each frame's source and
 * where it goes.
 *
 *   flood_gen OBJECT DST_MAC SRC_MAC DST_IP DST_PORT
 *
 * Run it in the network namespace of the veth the program redirects to. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <netinet/ether.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FRAME_BYTES = 60 };  /* the minimum Ethernet frame without its FCS */

/* The frame every run starts from; the program sets the source address. */
static int build_frame(unsigned char *frame, char **argv)
{
    struct ethhdr *eth = (struct ethhdr *)frame;
    struct iphdr *ip = (struct iphdr *)(eth + 1);
    struct udphdr *udp = (struct udphdr *)(ip + 1);
    const struct ether_addr *dst_mac = ether_aton(argv[2]);
    const struct ether_addr *src_mac;

    if (!dst_mac)
        return -1;
    memcpy(eth->h_dest, dst_mac, ETH_ALEN);
    src_mac = ether_aton(argv[3]);
    if (!src_mac)
        return -1;
    memcpy(eth->h_source, src_mac, ETH_ALEN);
    eth->h_proto = htons(ETH_P_IP);
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->tot_len = htons(FRAME_BYTES - sizeof(*eth));
    if (inet_pton(AF_INET, argv[4], &ip->daddr) != 1)
        return -1;
    udp->source = htons(40000);
    udp->dest = htons((unsigned short)atoi(argv[5]));
    udp->len = htons(FRAME_BYTES - sizeof(*eth) - sizeof(*ip));
    return 0;
}

int main(int argc, char **argv)
{
    unsigned char frame[FRAME_BYTES] = {0};
    struct bpf_object *object;
    struct bpf_program *program;

    if (argc != 6 || build_frame(frame, argv) != 0) {
        fprintf(stderr, "usage: flood_gen OBJECT DST_MAC SRC_MAC DST_IP DST_PORT\n");
        return 2;
    }
    object = bpf_object__open_file(argv[1], NULL);
    if (!object || bpf_object__load(object) != 0) {
        fprintf(stderr, "flood_gen: cannot load %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    program = bpf_object__find_program_by_name(object, "flood_gen");
    if (!program) {
        fprintf(stderr, "flood_gen: no program flood_gen in %s\n", argv[1]);
        return 1;
    }
    /* One call runs `repeat` times in the kernel; it stops early with EINTR
     * when a signal comes, which ends this process. */
    LIBBPF_OPTS(bpf_test_run_opts, options, .data_in = frame, .data_size_in = sizeof(frame),
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .repeat = 1u << 30, .batch_size = 64);
    for (;;) {
        if (bpf_prog_test_run_opts(bpf_program__fd(program), &options) != 0) {
            fprintf(stderr, "flood_gen: BPF_PROG_RUN: %s\n", strerror(errno));
            return 1;
        }
    }
}
