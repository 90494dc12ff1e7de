/* The program's clock, bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC_COARSE),
 * without a helper call on every packet: the coarse clock moves once per
 * tick, as jiffies do, and bpf_jiffies64() is inlined by the verifier, so
 * each CPU keeps its last reading and calls the helper once per tick. (Read
 * between the tick's jiffies update and its clock update, a reading stays
 * one tick behind until the next tick.) */
#ifndef SLUICE_BPF_CLOCK_H
#define SLUICE_BPF_CLOCK_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

struct cpu_clock {
    __u64 jiffies; /* when now_ns was read */
    __u64 now_ns;
};

/* Each program that includes this header gets its own. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct cpu_clock);
} cpu_clocks SEC(".maps");

static __always_inline __u64 coarse_now_ns(void)
{
    __u32 zero = 0;
    struct cpu_clock *clock = bpf_map_lookup_elem(&cpu_clocks, &zero);
    if (!clock)
        return bpf_ktime_get_coarse_ns();
    __u64 jiffies = bpf_jiffies64();
    if (clock->jiffies != jiffies) {
        clock->jiffies = jiffies;
        clock->now_ns = bpf_ktime_get_coarse_ns();
    }
    return clock->now_ns;
}

#endif /* SLUICE_BPF_CLOCK_H */
