/* The one definition of everything that crosses the kernel boundary between
 * the XDP program (bpf/sluice_xdp.bpf.c) and sluiced (controller/xdp_*.cpp):
 * map keys and values, the config record, stat indexes. C, so that clang's
 * BPF target and the C++ side both include it; the C++ side static_asserts
 * the sizes so a change that breaks the layout fails to compile. */
#ifndef SLUICE_XDP_ABI_H
#define SLUICE_XDP_ABI_H

#include <linux/types.h>

/* Interfaces one program instance can serve with separate statistics. The
 * extra slot counts packets from any other ifindex (e.g. BPF_PROG_RUN). */
#define SLUICE_MAX_INTERFACES 8
#define SLUICE_IFACE_SLOTS (SLUICE_MAX_INTERFACES + 1)

/* What happened to a packet. The first SLUICE_VERDICT_COUNT entries are
 * verdicts, exactly one per packet; the rest are events counted beside them. */
enum sluice_stat {
    SLUICE_PASS_RATE_OK = 0, /* checked against its source's rate and passed */
    SLUICE_PASS_ALLOWED,     /* source in the allow list */
    SLUICE_PASS_OTHER_PORT,  /* destination port not in xdp.ports */
    SLUICE_PASS_UNPARSED,    /* not IP, truncated or otherwise not understood */
    SLUICE_PASS_GATED,       /* new source over this CPU's insert budget: not tracked */
    SLUICE_DROP_DENIED,      /* source in the deny list */
    SLUICE_DROP_BLOCKED,     /* source in the block map, not yet expired */
    SLUICE_DROP_RATE,        /* source over rate_pps + burst */
    SLUICE_VERDICT_COUNT,
    SLUICE_EVENT_BLOCK_FULL = SLUICE_VERDICT_COUNT, /* a block could not be recorded: map full */
    SLUICE_STAT_COUNT
};

struct sluice_counter {
    __u64 packets;
    __u64 bytes;
};

/* Stats map index: one row of SLUICE_STAT_COUNT counters per interface slot. */
#define SLUICE_STATS_ENTRIES (SLUICE_IFACE_SLOTS * SLUICE_STAT_COUNT)

/* Addresses are 16 bytes everywhere; IPv4 is IPv4-mapped (::ffff:a.b.c.d),
 * so one trie serves both families and an IPv4 /8 is a /104. */
struct sluice_lpm_key {
    __u32 prefixlen;
    __u8 addr[16];
};

/* A rate-limited source: the IPv4 address, or the IPv6 address with the bits
 * beyond ipv6_prefix cleared (one budget per /64 by default). */
struct sluice_source_key {
    __u8 addr[16];
};

/* GCRA state: the theoretical arrival time, in bpf_ktime_get_coarse_ns()
 * time (CLOCK_MONOTONIC_COARSE), updated in place with compare-and-swap.
 * blocked_until_ns mirrors the source's block map entry, so a tracked source
 * costs one lookup per packet, not two; whoever blocks a source writes the
 * block map first, then this field if the source is tracked. */
struct sluice_source_state {
    __u64 tat_ns;
    __u64 blocked_until_ns;
};

enum sluice_block_origin {
    SLUICE_BLOCKED_BY_RATE = 1, /* xdp.block_on_exceed */
    SLUICE_BLOCKED_BY_HTTP = 2, /* a client_ip quota's block_interval */
    SLUICE_BLOCKED_BY_API = 3,  /* the admin API (PUT /v1/sys/blocks/:ip) */
};

/* Block map value, keyed by struct sluice_source_key: the authority on
 * blocks (the sources LRU can lose entries). Packets are dropped while
 * now < expires_ns (CLOCK_MONOTONIC_COARSE); sluiced deletes expired
 * entries. */
struct sluice_block_entry {
    __u64 expires_ns;
    __u32 origin; /* enum sluice_block_origin */
    __u32 reserved;
};

/* Per-CPU budget for tracking new sources: a GCRA of its own, so a spray of
 * spoofed sources costs one map insert per insert_interval_ns, not one per
 * packet. */
struct sluice_insert_budget {
    __u64 tat_ns;
};

#define SLUICE_PORT_WORDS (65536 / 64)

/* The one entry of the config map, written by sluiced at start and on
 * reload. All zero (before sluiced writes it) passes everything. */
struct sluice_xdp_config {
    __u64 emission_ns;        /* 1e9 / rate_pps; 0 disables the per-source rate */
    __u64 burst_ns;           /* burst * emission_ns: how far ahead a source may run */
    __u64 block_ns;           /* block_on_exceed; 0 = only drop the excess */
    __u64 insert_interval_ns; /* per CPU: one new source per interval ... */
    __u64 insert_burst_ns;    /* ... with this much banked */
    __u64 ipv6_mask[2];       /* network order; the source key keeps these bits */
    __u32 ifindex[SLUICE_MAX_INTERFACES]; /* stats slot i counts packets of ifindex[i] */
    __u32 allow_entries;      /* 0 skips the allow lookup */
    __u32 deny_entries;       /* 0 skips the deny lookup */
    __u32 port_filter;        /* 1: only ports set in port_bits are rate-limited */
    __u32 reserved;
    __u64 port_bits[SLUICE_PORT_WORDS]; /* bit p set: destination port p is limited */
};

#endif /* SLUICE_XDP_ABI_H */
