#include "store/local_store.h"

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <limits>

namespace sluice {
namespace {

constexpr std::size_t kInitialSlots = 16;
constexpr std::size_t kEvictionScan = 64;  // occupied slots looked at per eviction
constexpr Nanos kStoreFullRetry = 1'000'000'000;

std::uint64_t stored_key(std::uint64_t key) { return key == 0 ? 1 : key; }
bool idle(const LimitState& s, Nanos now) { return s.idle_at() <= now; }

}  // namespace

LocalStore::LocalStore(std::size_t max_keys)
    : max_keys_(std::max<std::size_t>(1, max_keys)),
      keys_per_shard_(max_keys_ * 5 / 4 / kShards + 16),
      // Load factor 3/4 at the shard's bound, plus one slot so a probe always ends.
      max_slots_(keys_per_shard_ * 4 / 3 + 2) {
    static_assert(sizeof(Slot) == 32);
}

std::size_t LocalStore::home(const Shard& shard, std::uint64_t key) const {
    // The top bits chose the shard; the rest, scaled to the slot count.
    __extension__ using Wide = unsigned __int128;
    return static_cast<std::size_t>((Wide{key << kShardBits} * shard.slots.size()) >> 64);
}

std::size_t LocalStore::find(const Shard& shard, std::uint64_t key) const {
    if (shard.slots.empty()) return kAbsent;
    const std::size_t n = shard.slots.size();
    for (std::size_t i = home(shard, key);; i = i + 1 == n ? 0 : i + 1) {
        if (shard.slots[i].key == key) return i;
        if (shard.slots[i].key == 0) return kAbsent;
    }
}

void LocalStore::grow(Shard& shard) {
    const std::size_t size = std::min(max_slots_, std::max(kInitialSlots, shard.slots.size() * 2));
    std::vector<Slot> old(size);
    old.swap(shard.slots);
    for (const Slot& slot : old) {
        if (slot.key == 0) continue;
        const std::size_t n = shard.slots.size();
        std::size_t i = home(shard, slot.key);
        while (shard.slots[i].key != 0) i = i + 1 == n ? 0 : i + 1;
        shard.slots[i] = slot;
    }
}

void LocalStore::insert(Shard& shard, std::uint64_t key, const LimitState& state) {
    const std::size_t used = shard.used.load(std::memory_order_relaxed);
    if ((used + 1) * 4 > shard.slots.size() * 3 && shard.slots.size() < max_slots_) grow(shard);
    const std::size_t n = shard.slots.size();
    std::size_t i = home(shard, key);
    while (shard.slots[i].key != 0) i = i + 1 == n ? 0 : i + 1;
    shard.slots[i] = Slot{key, state};
    shard.used.store(used + 1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
}

// Backward-shift deletion: no tombstones, so probes stay short under churn.
void LocalStore::erase(Shard& shard, std::size_t index) {
    const std::size_t n = shard.slots.size();
    std::size_t hole = index;
    for (std::size_t i = hole + 1 == n ? 0 : hole + 1;; i = i + 1 == n ? 0 : i + 1) {
        Slot& slot = shard.slots[i];
        if (slot.key == 0) break;
        const std::size_t h = home(shard, slot.key);
        // Move the slot into the hole unless its home lies cyclically in (hole, i].
        const bool home_between = hole <= i ? (h > hole && h <= i) : (h > hole || h <= i);
        if (!home_between) {
            shard.slots[hole] = slot;
            hole = i;
        }
    }
    shard.slots[hole] = Slot{};
    shard.used.fetch_sub(1, std::memory_order_relaxed);
    total_.fetch_sub(1, std::memory_order_relaxed);
}

// Frees slots for `inserts` new keys. Idle keys go first; otherwise the key
// closest to idle among those whose next request would pass. A key that is
// refused or blocked right now is never evicted: forgetting it would let it
// through early. Keys of the current request are kept.
bool LocalStore::make_room(Shard& shard, std::size_t inserts, Nanos now, std::span<const QuotaCheck> keep) {
    auto kept = [&](std::uint64_t key) {
        return std::any_of(keep.begin(), keep.end(), [&](const QuotaCheck& c) { return stored_key(c.key) == key; });
    };
    auto full = [&] {
        return shard.used.load(std::memory_order_relaxed) + inserts > keys_per_shard_ ||
               total_.load(std::memory_order_relaxed) + inserts > max_keys_;
    };
    while (full()) {
        const std::size_t n = shard.slots.size();
        // Full across shards, nothing here to evict: other shards are not
        // touched (their locks are not ours to take in this order).
        if (n == 0) return false;
        std::size_t victim = n;
        Nanos victim_idle_at = std::numeric_limits<Nanos>::max();
        std::size_t seen = 0;
        for (std::size_t step = 0; step < n && seen < kEvictionScan; ++step) {
            const std::size_t i = (shard.hand + step) % n;
            const Slot& slot = shard.slots[i];
            if (slot.key == 0 || kept(slot.key)) continue;
            ++seen;
            if (slot.state.hold_until > now) continue;
            if (slot.state.idle_at() < victim_idle_at) {
                victim = i;
                victim_idle_at = slot.state.idle_at();
                if (idle(slot.state, now)) break;
            }
        }
        shard.hand = (shard.hand + kEvictionScan) % n;
        if (victim == n) return false;
        erase(shard, victim);
        evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    return true;
}

StoreReply LocalStore::acquire(std::span<const QuotaCheck> checks, Nanos now, std::span<CheckResult> results) {
    struct Place {
        std::size_t shard;
        std::uint64_t key;
        std::size_t slot;
    };
    boost::container::small_vector<Place, 4> places;
    boost::container::small_vector<std::size_t, 4> order;
    for (const QuotaCheck& check : checks) {
        const std::uint64_t key = stored_key(check.key);
        places.push_back({shard_of(key), key, kAbsent});
        order.push_back(shard_of(key));
    }

    // Lock every shard involved, in ascending order, so concurrent requests
    // with overlapping keys cannot deadlock and see one consistent state.
    std::sort(order.begin(), order.end());
    order.erase(std::unique(order.begin(), order.end()), order.end());
    boost::container::small_vector<std::unique_lock<std::mutex>, 4> locks;
    for (std::size_t s : order) locks.emplace_back(shards_[s].mutex);
    auto locate = [&](std::size_t shard) {
        for (Place& p : places)
            if (p.shard == shard) p.slot = find(shards_[shard], p.key);
    };

    // Make room for the keys seen for the first time; a shard that cannot
    // make room refuses them (fail closed) rather than forget a refused key.
    for (std::size_t s : order) {
        locate(s);
        const std::size_t inserts = std::count_if(places.begin(), places.end(),
                                                  [&](const Place& p) { return p.shard == s && p.slot == kAbsent; });
        if (inserts == 0) continue;
        const bool room = make_room(shards_[s], inserts, now, checks);
        locate(s);  // eviction moves slots
        if (room) continue;
        for (std::size_t i = 0; i < places.size(); ++i)
            if (places[i].shard == s && places[i].slot == kAbsent) results[i].store_full = true;
    }

    bool allowed = true;
    for (std::size_t i = 0; i < places.size(); ++i) {
        const Place& p = places[i];
        Evaluation& e = results[i].evaluation;
        e = evaluate(*checks[i].params, p.slot == kAbsent ? LimitState{} : shards_[p.shard].slots[p.slot].state, now);
        if (results[i].store_full) {
            e.allowed = false;
            e.remaining = 0;
            e.retry_after = kStoreFullRetry;
        }
        if (checks[i].enforce && !e.allowed) allowed = false;
    }

    for (std::size_t i = 0; i < places.size(); ++i) {
        const QuotaCheck& check = checks[i];
        Evaluation& e = results[i].evaluation;
        if (results[i].store_full) continue;
        LimitState next;
        if (allowed && e.allowed) {
            next = e.next;
        } else if (check.enforce && !e.allowed) {
            next = refused_state(*check.params, e.next, now);
            // A block that starts now is what the client has to wait for.
            if (next.blocked) e.retry_after = std::max(e.retry_after, next.hold_until - now);
            e.reset = std::max(e.reset, next.idle_at() - now);
        } else {
            continue;  // refused because of another quota: consume nothing
        }
        const Place& p = places[i];
        Shard& shard = shards_[p.shard];
        if (p.slot != kAbsent) {
            shard.slots[p.slot].state = next;
        } else if (next.idle_at() > now) {
            insert(shard, p.key, next);
            locate(p.shard);  // an insert may have grown the table
        }
    }
    return allowed ? StoreReply::admitted : StoreReply::refused;
}

LimitState LocalStore::peek(std::uint64_t key) const {
    key = stored_key(key);
    const Shard& shard = shards_[shard_of(key)];
    std::lock_guard lock(shard.mutex);
    const std::size_t slot = find(shard, key);
    return slot == kAbsent ? LimitState{} : shard.slots[slot].state;
}

void LocalStore::forget(std::uint64_t key) {
    key = stored_key(key);
    Shard& shard = shards_[shard_of(key)];
    std::lock_guard lock(shard.mutex);
    const std::size_t slot = find(shard, key);
    if (slot != kAbsent) erase(shard, slot);
}

std::size_t LocalStore::expire(Nanos now) {
    std::size_t removed = 0;
    for (Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        for (std::size_t i = 0; i < shard.slots.size();) {
            const Slot& slot = shard.slots[i];
            if (slot.key != 0 && idle(slot.state, now)) {
                erase(shard, i);  // a later slot may have moved into i: look again
                ++removed;
            } else {
                ++i;
            }
        }
    }
    return removed;
}

std::vector<LocalStore::Entry> LocalStore::entries() const {
    std::vector<Entry> out;
    out.reserve(tracked_keys());
    for (const Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        for (const Slot& slot : shard.slots)
            if (slot.key != 0) out.push_back({slot.key, slot.state});
    }
    return out;
}

std::size_t LocalStore::restore(std::span<const Entry> saved, Nanos now) {
    // Busiest first, so that the bounds below drop the keys closest to idle.
    std::vector<const Entry*> order;
    order.reserve(saved.size());
    for (const Entry& entry : saved)
        if (!idle(entry.state, now)) order.push_back(&entry);
    std::sort(order.begin(), order.end(),
              [](const Entry* a, const Entry* b) { return a->state.idle_at() > b->state.idle_at(); });
    std::array<std::size_t, kShards> adding{};
    std::size_t total = total_.load(std::memory_order_relaxed);
    std::erase_if(order, [&](const Entry* entry) {
        const std::size_t s = shard_of(stored_key(entry->key));
        const bool fits =
            shards_[s].used.load(std::memory_order_relaxed) + adding[s] < keys_per_shard_ && total < max_keys_;
        if (fits) ++adding[s], ++total;
        return !fits;
    });
    // Each table at its final size first: a snapshot lists keys in slot
    // order, and growing while they arrive in that order piles them into one
    // long probe run (1 s instead of 0.1 s for a million keys).
    for (std::size_t s = 0; s < kShards; ++s) {
        Shard& shard = shards_[s];
        std::lock_guard lock(shard.mutex);
        const std::size_t keys = shard.used.load(std::memory_order_relaxed) + adding[s];
        while (keys * 4 > shard.slots.size() * 3 && shard.slots.size() < max_slots_) grow(shard);
    }
    std::size_t restored = 0;
    for (const Entry* entry : order) {
        const std::uint64_t key = stored_key(entry->key);
        Shard& shard = shards_[shard_of(key)];
        std::lock_guard lock(shard.mutex);
        if (find(shard, key) != kAbsent) continue;
        if (shard.used.load(std::memory_order_relaxed) >= keys_per_shard_ ||
            total_.load(std::memory_order_relaxed) >= max_keys_)
            continue;
        insert(shard, key, entry->state);
        ++restored;
    }
    return restored;
}

std::size_t LocalStore::tracked_keys() const { return total_.load(std::memory_order_relaxed); }

std::size_t LocalStore::memory_bytes() const {
    std::size_t total = sizeof(*this);
    for (const Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        total += shard.slots.capacity() * sizeof(Slot);
    }
    return total;
}

}  // namespace sluice
