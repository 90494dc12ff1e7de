#include "limit/algorithms.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sluice {
namespace {

// Products of counts and nanoseconds overflow 64 bits.
__extension__ using Wide = __int128;

// Only quotas beyond kMaxSpan, which the loader refuses, come near it.
constexpr Nanos kNanosMax = std::numeric_limits<Nanos>::max();

Nanos saturate(Wide v) { return v > kNanosMax ? kNanosMax : static_cast<Nanos>(v); }
Nanos add(Nanos a, Nanos b) { return saturate(Wide{a} + b); }
Nanos until(Nanos at, Nanos now) { return at > now ? at - now : 0; }
Nanos ceil_div(Wide a, Wide b) { return saturate((a + b - 1) / b); }

// A block that has run out is forgotten with the next request that passes.
LimitState unblocked(LimitState s) {
    if (s.blocked) s.blocked = 0, s.hold_until = 0;
    return s;
}

Evaluation blocked(const LimitState& s, Nanos now) {
    Evaluation e;
    e.next = s;
    e.retry_after = s.hold_until - now;
    e.reset = until(s.idle_at(), now);
    return e;
}

// GCRA: a request costs `emission`; it passes while the theoretical arrival
// time stays within `limit` emissions of now.
Evaluation token_bucket(const LimitParams& p, const LimitState& s, Nanos now) {
    Evaluation e;
    e.next = unblocked(s);
    const Nanos tat = std::max(s.time, now);
    const Nanos new_tat = add(tat, p.emission);
    const Nanos allow_at = new_tat - p.capacity;
    if (allow_at > now) {
        e.retry_after = allow_at - now;
        e.reset = until(s.time, now);
        return e;
    }
    e.allowed = true;
    e.next.time = new_tat;
    e.remaining = static_cast<std::uint32_t>((now - allow_at) / p.emission);
    e.reset = new_tat - now;
    e.next.hold_until = e.remaining == 0 ? allow_at + p.emission : 0;
    return e;
}

// Vault's fixed window: it starts at the key's first request and refills whole
// when it ends.
Evaluation fixed_window(const LimitParams& p, const LimitState& s, Nanos now) {
    Evaluation e;
    e.next = unblocked(s);
    if (now >= s.time) {
        e.next.time = add(now, p.interval);
        e.next.current = 0;
    }
    const Nanos window_end = e.next.time;
    e.reset = window_end - now;
    if (e.next.current >= p.limit) {
        e.next = s;
        e.retry_after = window_end - now;
        return e;
    }
    e.allowed = true;
    ++e.next.current;
    e.remaining = p.limit - e.next.current;
    e.next.hold_until = e.remaining == 0 ? window_end : 0;
    return e;
}

// The sliding window's state rolled forward to `now`; `time` is the end of the
// current window plus one interval.
LimitState roll_window(const LimitParams& p, const LimitState& s, Nanos now) {
    LimitState r = unblocked(s);
    if (now >= s.time) {  // both windows are over
        r.time = add(now, 2 * p.interval);
        r.previous = r.current = 0;
    } else if (now >= s.time - p.interval) {  // the current window is over
        r.time = add(s.time, p.interval);
        r.previous = s.current;
        r.current = 0;
    }
    return r;
}

// Whether one more request fits: previous * (share of it still in the
// window) + current + 1 <= limit, in integers scaled by the interval.
Wide sliding_headroom(const LimitParams& p, const LimitState& r, Nanos now) {
    const Nanos window_start = r.time - 2 * p.interval;
    const Wide left_of_previous = p.interval - (now - window_start);
    return Wide{p.limit} * p.interval - Wide{r.previous} * left_of_previous - (Wide{r.current} + 1) * p.interval;
}

// How long until one more request fits, for a rolled state.
Nanos sliding_wait(const LimitParams& p, const LimitState& r, Nanos now) {
    const Wide missing = -sliding_headroom(p, r, now);
    if (missing <= 0) return 0;
    const Nanos window_end = r.time - p.interval;
    if (r.current + 1 <= p.limit && r.previous > 0) {
        const Nanos wait = ceil_div(missing, r.previous);
        if (now + wait < window_end) return wait;
    }
    // In the next window the current count becomes the previous one.
    const Wide over = (Wide{r.current} + 1 - p.limit) * p.interval;
    const Nanos into_next = r.current > 0 && over > 0 ? ceil_div(over, r.current) : 0;
    return (window_end - now) + into_next;
}

Evaluation sliding_window(const LimitParams& p, const LimitState& s, Nanos now) {
    Evaluation e;
    const LimitState r = roll_window(p, s, now);
    e.reset = r.time - now;
    const Wide headroom = sliding_headroom(p, r, now);
    if (headroom < 0) {
        e.next = s;
        e.retry_after = sliding_wait(p, r, now);
        return e;
    }
    e.allowed = true;
    e.next = r;
    ++e.next.current;
    e.remaining = static_cast<std::uint32_t>(headroom / p.interval);
    const Nanos wait = sliding_wait(p, e.next, now);
    e.next.hold_until = wait > 0 ? now + wait : 0;
    return e;
}

// Token bucket: the credit in use is how far the theoretical arrival time is
// ahead of now; what is left of the capacity admits whole requests.
Usage token_bucket_usage(const LimitParams& p, const LimitState& s, Nanos now) {
    const Nanos ahead = until(s.time, now);
    Usage u;
    u.used = static_cast<std::uint32_t>(std::min<Wide>(ceil_div(ahead, p.emission), p.limit));
    u.remaining = static_cast<std::uint32_t>(std::clamp<Wide>((Wide{p.capacity} - ahead) / p.emission, 0, p.limit));
    u.reset = ahead;
    return u;
}

// Fixed window: a window that has ended counts nothing, and the next request
// would open a whole new one.
Usage fixed_window_usage(const LimitParams& p, const LimitState& s, Nanos now) {
    if (now >= s.time) return {0, p.limit, p.interval};
    const std::uint32_t used = std::min(s.current, p.limit);
    return {used, p.limit - used, s.time - now};
}

// Sliding window: previous * (share of it still in the window) + current,
// rounded up. The limit is whole again once nothing counted is in the window:
// the end of the current window when only the previous one holds requests.
Usage sliding_window_usage(const LimitParams& p, const LimitState& s, Nanos now) {
    const LimitState r = roll_window(p, s, now);
    const Wide free_scaled = sliding_headroom(p, r, now) + p.interval;  // with one request fewer counted
    Usage u;
    u.remaining = static_cast<std::uint32_t>(std::clamp<Wide>(free_scaled / p.interval, 0, p.limit));
    u.used = p.limit - u.remaining;
    const Nanos window_end = r.time - p.interval;
    u.reset = r.current > 0 ? r.time - now : r.previous > 0 ? window_end - now : 0;
    return u;
}

}  // namespace

LimitParams LimitParams::from(const Quota& q) {
    LimitParams p;
    p.algorithm = q.algorithm;
    p.interval = std::max<Nanos>(1, q.interval.count());
    p.block = q.block_interval.count();
    const double allowed = q.algorithm == Algorithm::token_bucket ? q.burst.value_or(q.rate) : q.rate;
    p.limit = static_cast<std::uint32_t>(std::clamp(std::floor(allowed), 1.0, 2e9));
    // Bounded before the conversion: llround of what no Nanos holds is undefined.
    p.emission = std::max<Nanos>(1, std::llround(std::min(static_cast<double>(p.interval) / q.rate, 0x1p62)));
    p.capacity = saturate(Wide{p.limit} * p.emission);
    return p;
}

Evaluation evaluate(const LimitParams& p, const LimitState& s, Nanos now) {
    if (s.blocked_at(now)) return blocked(s, now);
    switch (p.algorithm) {
    case Algorithm::token_bucket: return token_bucket(p, s, now);
    case Algorithm::fixed_window: return fixed_window(p, s, now);
    case Algorithm::sliding_window: return sliding_window(p, s, now);
    }
    return blocked(s, now);
}

LimitState refused_state(const LimitParams& p, const LimitState& s, Nanos now) {
    LimitState r = s;
    if (p.block > 0 && !s.blocked_at(now)) {
        r.blocked = 1;
        r.hold_until = std::max(r.hold_until, add(now, p.block));
    }
    return r;
}

Usage usage(const LimitParams& p, const LimitState& s, Nanos now) {
    if (s.blocked_at(now)) return {p.limit, 0, s.hold_until - now};
    switch (p.algorithm) {
    case Algorithm::token_bucket: return token_bucket_usage(p, s, now);
    case Algorithm::fixed_window: return fixed_window_usage(p, s, now);
    case Algorithm::sliding_window: return sliding_window_usage(p, s, now);
    }
    return {p.limit, 0, 0};
}

}  // namespace sluice
