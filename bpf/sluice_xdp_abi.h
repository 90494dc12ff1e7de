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
 * blocked_until_ns is set only when the program blocks a source over its
 * rate and the block map is full: then the block holds while the source
 * stays tracked. */
struct sluice_source_state {
    __u64 tat_ns;
    __u64 blocked_until_ns;
};

/* The tracked sources: a hash table in an array map, so the program finds a
 * source with inlined array lookups instead of a kernel hash-map call. A
 * bucket holds SLUICE_SOURCE_WAYS slots (two cache lines); a new source takes
 * the empty slot of its bucket, or the one whose source was least active
 * (the smallest max(tat_ns, blocked_until_ns)), so a source over its rate,
 * whose tat_ns runs ahead, is the last to go. There are two slots per
 * xdp.max_sources, so that many sources fit with few pushed out by a full
 * bucket (~4% when all are equally active). Only the program writes slots,
 * apart from sluiced clearing blocked_until_ns on unblock:
 *   - a slot is empty while its tat_ns is 0;
 *   - to rewrite a slot (a new source, a block), the writer swaps tat_ns to
 *     SLUICE_SOURCE_BUSY with compare-and-swap, writes, then stores tat_ns;
 *     readers take a BUSY slot for no slot at all;
 *   - a reader checks the key after reading tat_ns, and a decision made
 *     from tat_ns holds only if tat_ns has not moved since. */
#define SLUICE_SOURCE_WAYS 4
#define SLUICE_SLOTS_PER_SOURCE 2
#define SLUICE_SOURCE_BUSY (~(__u64)0)

struct sluice_source_slot {
    __u64 key[2]; /* the struct sluice_source_key, as two words */
    struct sluice_source_state state;
};

struct sluice_source_bucket {
    struct sluice_source_slot slot[SLUICE_SOURCE_WAYS];
};

/* One byte of the key's hash per slot, nonzero while the slot holds a source,
 * packed for SLUICE_TAG_BUCKETS buckets per entry of the source_tags map: a
 * source not in the table is told apart there (2 MB for 1M sources, mostly
 * in cache) without reading its bucket (in DRAM). */
#define SLUICE_TAG_BUCKETS 2

struct sluice_source_tags {
    __u8 tag[SLUICE_TAG_BUCKETS * SLUICE_SOURCE_WAYS];
};

/* The hash of a source key: the bucket is its low bits, the tag its top
 * byte, the block filter uses bits 20-53. Both words mixed, then murmur3's
 * 64-bit finalizer. Not keyed: sources made to collide only push each other
 * out of their bucket (the least active goes), or cost a bucket read. */
static inline __u64 sluice_source_hash(const struct sluice_source_key *key)
{
    __u64 words[2];
    __builtin_memcpy(words, key->addr, sizeof words);
    __u64 h = (words[0] * 0x9E3779B97F4A7C15ULL) ^ words[1];
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static inline __u8 sluice_source_tag(__u64 hash)
{
    return (__u8)(hash >> 56) | 1;
}

/* Buckets for max_sources sources: a power of two. */
static inline __u32 sluice_source_buckets(__u32 max_sources)
{
    __u32 buckets = 1;
    while ((__u64)buckets * SLUICE_SOURCE_WAYS < (__u64)max_sources * SLUICE_SLOTS_PER_SOURCE)
        buckets <<= 1;
    return buckets;
}

static inline __u32 sluice_source_tag_entries(__u32 buckets)
{
    return (buckets + SLUICE_TAG_BUCKETS - 1) / SLUICE_TAG_BUCKETS;
}

/* The block filter: may this source be in the block map? A source whose bits
 * are not all set in either of two generations is not (no false negatives),
 * so the packets of nearly every unblocked source skip the block map lookup.
 * Each entry of the block_filter map holds a word of both generations (one
 * cache line read); one entry more holds the current generation in bits[0].
 *   - whoever blocks a source writes the block map first, then ORs the
 *     source's bits into the current generation;
 *   - sluiced rebuilds: it rewrites the other generation from the block map
 *     (which drops the bits of expired and removed blocks), then makes it
 *     the current one.
 * Every block is then in one of the two: one added before the rebuild's
 * snapshot is in it, one added after is in the generation current then,
 * which the next rebuild rewrites from a snapshot that has it. */
#define SLUICE_BLOCK_FILTER_GENERATIONS 2

struct sluice_block_filter_entry {
    __u64 bits[SLUICE_BLOCK_FILTER_GENERATIONS];
};

static inline __u64 sluice_block_filter_bits(__u64 hash)
{
    return (1ULL << ((hash >> 20) & 63)) | (1ULL << ((hash >> 26) & 63));
}

/* The entry holding the source's bits, of `words` per generation. */
static inline __u32 sluice_block_filter_word(__u64 hash, __u32 words)
{
    return (__u32)(hash >> 32) & (words - 1);
}

/* Words per generation for max_blocked blocks: 16 bits per block, a power of
 * two (at most ~1.5% false positives with the map full). */
static inline __u32 sluice_block_filter_words(__u32 max_blocked)
{
    __u32 words = 1;
    while (words * 4 < max_blocked)
        words <<= 1;
    return words;
}

static inline __u32 sluice_block_filter_entries(__u32 words)
{
    return words + 1;
}

/* The sizes the program declares, for loaders that set none. */
#define SLUICE_DEFAULT_MAX_SOURCES 65536
#define SLUICE_DEFAULT_MAX_BLOCKED 65536
#define SLUICE_DEFAULT_SOURCE_BUCKETS (SLUICE_DEFAULT_MAX_SOURCES * SLUICE_SLOTS_PER_SOURCE / SLUICE_SOURCE_WAYS)
#define SLUICE_DEFAULT_BLOCK_FILTER_WORDS (SLUICE_DEFAULT_MAX_BLOCKED / 4)

enum sluice_block_origin {
    SLUICE_BLOCKED_BY_RATE = 1, /* xdp.block_on_exceed */
    SLUICE_BLOCKED_BY_HTTP = 2, /* a client_ip quota's block_interval */
    SLUICE_BLOCKED_BY_API = 3,  /* the admin API (PUT /v1/sys/blocks/:ip) */
};

/* Block map value, keyed by struct sluice_source_key: the authority on
 * blocks (the sources table can lose entries). Packets are dropped while
 * now < expires_ns (CLOCK_MONOTONIC_COARSE); sluiced deletes expired
 * entries. */
struct sluice_block_entry {
    __u64 expires_ns;
    __u32 origin; /* enum sluice_block_origin */
    __u32 reserved;
};

/* Per-CPU budget for tracking new sources: a GCRA of its own, so a spray of
 * spoofed sources takes one slot of the sources table per insert_interval_ns,
 * not one per packet. */
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
