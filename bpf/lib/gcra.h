/* GCRA (the token bucket as one timestamp) for BPF: a source may run at most
 * burst_ns ahead of now, each admitted packet moving its theoretical arrival
 * time on by emission_ns. */
#ifndef SLUICE_BPF_GCRA_H
#define SLUICE_BPF_GCRA_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

/* The theoretical arrival time after admitting one more packet, or 0 when
 * that would run more than burst_ns ahead of now: refused. */
static __always_inline __u64 gcra_next(__u64 tat, __u64 now, __u64 emission_ns, __u64 burst_ns)
{
    __u64 next = (tat > now ? tat : now) + emission_ns;
    return next - now > burst_ns ? 0 : next;
}

/* For state no other CPU writes: admitting moves *tat on; a refusal leaves
 * it alone. */
static __always_inline int gcra_admit_local(__u64 *tat, __u64 now, __u64 emission_ns, __u64 burst_ns)
{
    __u64 next = gcra_next(*tat, now, emission_ns, burst_ns);
    if (!next)
        return 0;
    *tat = next;
    return 1;
}

#endif /* SLUICE_BPF_GCRA_H */
