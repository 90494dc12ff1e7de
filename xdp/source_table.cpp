#include "xdp/source_table.h"

#include <atomic>
#include <cstring>
#include <stdexcept>

namespace sluice {
namespace {

__u64 load(__u64& word) { return std::atomic_ref(word).load(); }

bool holds(const sluice_source_slot& slot, const sluice_source_key& key) {
    return std::memcmp(slot.key, key.addr, sizeof key.addr) == 0;
}

bool in_use(__u64 tat) { return tat != 0 && tat != SLUICE_SOURCE_BUSY; }

// How recently the slot's source was active: as the program ranks slots.
__u64 liveness(sluice_source_slot& slot) {
    const __u64 tat = load(slot.state.tat_ns);
    const __u64 until = load(slot.state.blocked_until_ns);
    return tat == SLUICE_SOURCE_BUSY || tat > until ? tat : until;
}

}  // namespace

SourceTable::SourceTable(int sources_fd, int tags_fd)
    : buckets_(sources_fd, sizeof(sluice_source_bucket)),
      tags_(tags_fd, sizeof(sluice_source_tags)) {
    const std::uint32_t buckets = buckets_.entries();
    if (buckets == 0 || (buckets & (buckets - 1)) != 0 || tags_.entries() != sluice_source_tag_entries(buckets))
        throw std::runtime_error("the XDP sources table and its tags do not match in size");
}

sluice_source_bucket& SourceTable::bucket_of(const sluice_source_key& key) const {
    return buckets_.at<sluice_source_bucket>(static_cast<std::uint32_t>(sluice_source_hash(&key)) &
                                             (buckets_.entries() - 1));
}

sluice_source_slot* SourceTable::find(const sluice_source_key& key) const {
    for (sluice_source_slot& slot : bucket_of(key).slot) {
        if (in_use(load(slot.state.tat_ns)) && holds(slot, key)) return &slot;
    }
    return nullptr;
}

std::optional<sluice_source_state> SourceTable::state(const sluice_source_key& key) const {
    sluice_source_slot* slot = find(key);
    if (!slot) return std::nullopt;
    return sluice_source_state{load(slot->state.tat_ns), load(slot->state.blocked_until_ns)};
}

bool SourceTable::end_block(const sluice_source_key& key) {
    sluice_source_slot* slot = find(key);
    if (!slot) return false;
    __u64 until = load(slot->state.blocked_until_ns);
    if (until == 0) return false;
    // Fails only if the program just set a new block: that one stands.
    std::atomic_ref(slot->state.blocked_until_ns).compare_exchange_strong(until, 0);
    return true;
}

std::vector<sluice_source_key> SourceTable::keys() const {
    std::vector<sluice_source_key> out;
    for (std::uint32_t b = 0; b < buckets_.entries(); ++b) {
        for (sluice_source_slot& slot : buckets_.at<sluice_source_bucket>(b).slot) {
            if (!in_use(load(slot.state.tat_ns))) continue;
            sluice_source_key& key = out.emplace_back();
            std::memcpy(key.addr, slot.key, sizeof key.addr);
        }
    }
    return out;
}

void SourceTable::track(const sluice_source_key& key, std::uint64_t tat_ns) {
    if (sluice_source_slot* slot = find(key)) {
        std::atomic_ref(slot->state.blocked_until_ns).store(0);
        std::atomic_ref(slot->state.tat_ns).store(tat_ns);
        return;
    }
    sluice_source_bucket& bucket = bucket_of(key);
    std::uint32_t way = 0;
    for (std::uint32_t other = 1; other < SLUICE_SOURCE_WAYS; ++other)
        if (liveness(bucket.slot[other]) < liveness(bucket.slot[way])) way = other;
    sluice_source_slot& slot = bucket.slot[way];
    __u64 old = load(slot.state.tat_ns);
    if (old == SLUICE_SOURCE_BUSY ||
        !std::atomic_ref(slot.state.tat_ns).compare_exchange_strong(old, SLUICE_SOURCE_BUSY))
        throw std::runtime_error("the XDP program is rewriting the slot");
    std::memcpy(slot.key, key.addr, sizeof key.addr);
    std::atomic_ref(slot.state.blocked_until_ns).store(0);
    const std::uint64_t hash = sluice_source_hash(&key);
    const std::uint32_t bucket_index = static_cast<std::uint32_t>(hash) & (buckets_.entries() - 1);
    std::uint8_t& tag = tags_.at<sluice_source_tags>(bucket_index / SLUICE_TAG_BUCKETS)
                            .tag[bucket_index % SLUICE_TAG_BUCKETS * SLUICE_SOURCE_WAYS + way];
    std::atomic_ref(tag).store(sluice_source_tag(hash));
    std::atomic_ref(slot.state.tat_ns).store(tat_ns);
}

void SourceTable::clear() {
    for (std::uint32_t b = 0; b < buckets_.entries(); ++b) buckets_.at<sluice_source_bucket>(b) = {};
    for (std::uint32_t t = 0; t < tags_.entries(); ++t) tags_.at<sluice_source_tags>(t) = {};
}

}  // namespace sluice
