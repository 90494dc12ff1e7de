/* GCRA (the token bucket as one timestamp) for BPF: a source may run at most
 * burst_ns ahead of now, each admitted packet moving its theoretical arrival
 * time on by emission_ns. Shared state is updated with one compare-and-swap
 * (needs -mcpu=v3); bpf_spin_lock is not allowed in LRU maps. */
#ifndef SLUICE_BPF_GCRA_H
#define SLUICE_BPF_GCRA_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

/* Admitting moves *tat on; a refusal leaves it alone. A CAS lost to another
 * CPU is retried with the new value; a source hot enough to lose three in a
 * row is refused, which errs on the side of the limit. */
static __always_inline int gcra_admit_shared(__u64 *tat, __u64 now, __u64 emission_ns, __u64 burst_ns)
{
#pragma unroll
    for (int attempt = 0; attempt < 3; attempt++) {
        __u64 seen = *(volatile __u64 *)tat;
        __u64 next = (seen > now ? seen : now) + emission_ns;
        if (next - now > burst_ns)
            return 0;
        if (__sync_val_compare_and_swap(tat, seen, next) == seen)
            return 1;
    }
    return 0;
}

/* The same rule for per-CPU state, which no other CPU writes. */
static __always_inline int gcra_admit_local(__u64 *tat, __u64 now, __u64 emission_ns, __u64 burst_ns)
{
    __u64 next = (*tat > now ? *tat : now) + emission_ns;
    if (next - now > burst_ns)
        return 0;
    *tat = next;
    return 1;
}

#endif /* SLUICE_BPF_GCRA_H */
