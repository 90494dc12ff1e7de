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
    __u8 l4_truncated;   /* the TCP/UDP ports not found: cut off, or behind too many IPv6 extension headers */
};

static __always_inline int is_vlan(__be16 proto)
{
    return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

static __always_inline int is_ipv6_extension(__u8 next)
{
    return next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS ||
           next == IPPROTO_FRAGMENT || next == IPPROTO_AH;
}

/* Reads the ports at l4 for TCP and UDP; other protocols have none. `room`
 * is what the IP header's length field leaves of the datagram from l4 on:
 * bytes beyond it (a NIC's padding of a short frame) are not the datagram's,
 * and the kernel drops a datagram cut before its ports. */
static __always_inline void parse_ports(struct parsed_packet *pkt, void *l4, void *data_end, __u8 protocol,
                                        __u32 room)
{
    if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
        return;
    struct l4_ports *ports = l4;
    if ((void *)(ports + 1) > data_end || room < sizeof(*ports)) {
        pkt->l4_truncated = 1;
        return;
    }
    pkt->dest_port = bpf_ntohs(ports->dest);
    pkt->has_port = 1;
}

static __always_inline int parse_ipv4(struct parsed_packet *pkt, void *l3, void *data_end)
{
    struct iphdr *ip = l3;
    if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5)
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
    __u32 total_len = bpf_ntohs(ip->tot_len);
    parse_ports(pkt, l3 + header_len, data_end, ip->protocol, total_len > header_len ? total_len - header_len : 0);
    return 0;
}

static __always_inline int parse_ipv6(struct parsed_packet *pkt, void *l3, void *data_end)
{
    struct ipv6hdr *ip6 = l3;
    if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
        return -1;
    __builtin_memcpy(pkt->source, &ip6->saddr, 16);
    pkt->is_ipv6 = 1;

    /* The payload as its length field says (0 is a jumbogram's: the frame
     * says), and how far into it the cursor is. */
    __u32 payload_len = bpf_ntohs(ip6->payload_len);
    __u32 room = payload_len ? payload_len : 0xffffffff;
    __u32 offset = 0;
    void *cursor = ip6 + 1;
    __u8 next = ip6->nexthdr;
#pragma unroll
    for (int i = 0; i < SLUICE_MAX_IPV6_EXT_HEADERS; i++) {
        if (next == IPPROTO_FRAGMENT) {
            struct ipv6_fragment *frag = cursor;
            if ((void *)(frag + 1) > data_end || offset + sizeof(*frag) > room)
                goto truncated; /* the source is known; the port is not */
            if (frag->offset_flags & bpf_htons(0xfff8)) {
                pkt->later_fragment = 1;
                return 0;
            }
            next = frag->next_header;
            cursor = frag + 1;
            offset += sizeof(*frag);
        } else if (is_ipv6_extension(next)) { /* the fragment header is handled above */
            struct ipv6_ext *ext = cursor;
            if ((void *)(ext + 1) > data_end)
                goto truncated;
            /* AH counts 4-byte units beyond 8 bytes, the others 8-byte units. */
            __u32 length = next == IPPROTO_AH ? (ext->length + 2) * 4 : (ext->length + 1) * 8;
            next = ext->next_header;
            cursor += length;
            offset += length;
            if (cursor > data_end || offset > room) /* cut inside the header */
                goto truncated;
        } else {
            break;
        }
    }
    /* A chain longer than the program follows: the port is not known. */
    if (is_ipv6_extension(next))
        goto truncated;
    parse_ports(pkt, cursor, data_end, next, room - offset);
    return 0;
truncated: /* cut inside the extension headers: like ports cut off */
    pkt->l4_truncated = 1;
    return 0;
}

/* 0 with pkt filled in for IPv4 and IPv6 (even when the L4 part is missing),
 * -1 for anything else or a truncated L2/L3 header. An IP header whose
 * version does not match its ethertype is not IP (the kernel drops it): its
 * "source" means nothing. */
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
