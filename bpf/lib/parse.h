/* Packet parsing for the XDP program: Ethernet, up to two VLAN tags, IPv4
 * (options) or IPv6 (extension headers), then the TCP/UDP destination port.
 * Every read is bounds-checked against data_end; anything not understood is
 * reported as such, and the caller passes it. */
#ifndef SLUICE_BPF_PARSE_H
#define SLUICE_BPF_PARSE_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/types.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define SLUICE_MAX_VLAN_TAGS 2
#define SLUICE_MAX_IPV6_EXT_HEADERS 6

struct vlan_tag {
    __be16 tci;
    __be16 next_proto;
};

struct ipv6_ext {
    __u8 next_header;
    __u8 length; /* in 8-byte units, not counting the first 8 bytes */
};

struct ipv6_fragment {
    __u8 next_header;
    __u8 reserved;
    __be16 offset_flags; /* offset in the top 13 bits */
    __be32 id;
};

struct l4_ports {
    __be16 source;
    __be16 dest;
};

struct parsed_packet {
    __u8 source[16];  /* IPv4-mapped for IPv4 */
    __u16 dest_port;  /* host order; valid when has_port */
    __u8 is_ipv6;
    __u8 has_port;    /* TCP or UDP header present and complete */
    __u8 later_fragment; /* a fragment after the first: no L4 header in it */
    __u8 l4_truncated;   /* cut before the TCP/UDP ports could be read */
};

static __always_inline int is_vlan(__be16 proto)
{
    return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/* Reads the ports at l4 for TCP and UDP; other protocols have none. */
static __always_inline void parse_ports(struct parsed_packet *pkt, void *l4, void *data_end, __u8 protocol)
{
    if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
        return;
    struct l4_ports *ports = l4;
    if ((void *)(ports + 1) > data_end) {
        pkt->l4_truncated = 1;
        return;
    }
    pkt->dest_port = bpf_ntohs(ports->dest);
    pkt->has_port = 1;
}

static __always_inline int parse_ipv4(struct parsed_packet *pkt, void *l3, void *data_end)
{
    struct iphdr *ip = l3;
    if ((void *)(ip + 1) > data_end || ip->ihl < 5)
        return -1;
    __u32 header_len = ip->ihl * 4;
    if (l3 + header_len > data_end)
        return -1;

    __builtin_memset(pkt->source, 0, 10);
    pkt->source[10] = 0xff;
    pkt->source[11] = 0xff;
    __builtin_memcpy(&pkt->source[12], &ip->saddr, 4);

    if (ip->frag_off & bpf_htons(0x1fff)) { /* offset != 0 */
        pkt->later_fragment = 1;
        return 0;
    }
    parse_ports(pkt, l3 + header_len, data_end, ip->protocol);
    return 0;
}

static __always_inline int parse_ipv6(struct parsed_packet *pkt, void *l3, void *data_end)
{
    struct ipv6hdr *ip6 = l3;
    if ((void *)(ip6 + 1) > data_end)
        return -1;
    __builtin_memcpy(pkt->source, &ip6->saddr, 16);
    pkt->is_ipv6 = 1;

    void *cursor = ip6 + 1;
    __u8 next = ip6->nexthdr;
#pragma unroll
    for (int i = 0; i < SLUICE_MAX_IPV6_EXT_HEADERS; i++) {
        if (next == IPPROTO_FRAGMENT) {
            struct ipv6_fragment *frag = cursor;
            if ((void *)(frag + 1) > data_end)
                goto truncated; /* the source is known; the port is not */
            if (frag->offset_flags & bpf_htons(0xfff8)) {
                pkt->later_fragment = 1;
                return 0;
            }
            next = frag->next_header;
            cursor = frag + 1;
        } else if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS) {
            struct ipv6_ext *ext = cursor;
            if ((void *)(ext + 1) > data_end)
                goto truncated;
            next = ext->next_header;
            cursor += (ext->length + 1) * 8;
        } else if (next == IPPROTO_AH) {
            struct ipv6_ext *ext = cursor;
            if ((void *)(ext + 1) > data_end)
                goto truncated;
            next = ext->next_header;
            cursor += (ext->length + 2) * 4;
        } else {
            break;
        }
    }
    parse_ports(pkt, cursor, data_end, next);
    return 0;
truncated: /* cut inside the extension headers: like ports cut off */
    pkt->l4_truncated = 1;
    return 0;
}

/* 0 with pkt filled in for IPv4 and IPv6 (even when the L4 part is missing),
 * -1 for anything else or a truncated L2/L3 header. */
static __always_inline int parse_packet(struct parsed_packet *pkt, void *data, void *data_end)
{
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return -1;
    __be16 proto = eth->h_proto;
    void *cursor = eth + 1;

#pragma unroll
    for (int i = 0; i < SLUICE_MAX_VLAN_TAGS; i++) {
        if (!is_vlan(proto))
            break;
        struct vlan_tag *tag = cursor;
        if ((void *)(tag + 1) > data_end)
            return -1;
        proto = tag->next_proto;
        cursor = tag + 1;
    }

    if (proto == bpf_htons(ETH_P_IP))
        return parse_ipv4(pkt, cursor, data_end);
    if (proto == bpf_htons(ETH_P_IPV6))
        return parse_ipv6(pkt, cursor, data_end);
    return -1;
}

#endif /* SLUICE_BPF_PARSE_H */
