#include "store/refusal_cache.h"

#include <iterator>

namespace sluice {

std::optional<Evaluation> RefusalCache::find(std::uint64_t key, Nanos now) {
    const auto found = refusals_.find(key);
    if (found == refusals_.end()) return std::nullopt;
    const Refusal r = found->second;
    if (r.retry_at <= now) {
        refusals_.erase(found);
        return std::nullopt;
    }
    Evaluation e;
    e.retry_after = r.retry_at - now;
    e.reset = r.reset_at > now ? r.reset_at - now : 0;
    return e;
}

void RefusalCache::remember(std::uint64_t key, const Evaluation& refused, Nanos now) {
    if (refused.allowed || refused.retry_after <= 0) return;
    if (refusals_.size() >= capacity_ && !refusals_.contains(key)) {
        std::erase_if(refusals_, [now](const auto& entry) { return entry.second.retry_at <= now; });
        if (refusals_.size() >= capacity_) return;
    }
    refusals_[key] = {now + refused.retry_after, now + refused.reset};
}

}  // namespace sluice
