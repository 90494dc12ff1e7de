#include "limit/block_list.h"

#include <algorithm>

namespace sluice {

std::size_t BlockList::Hash::operator()(const IpAddress& a) const {
    return static_cast<std::size_t>(
        hasher(std::string_view(reinterpret_cast<const char*>(a.bytes.data()), a.bytes.size())));
}

BlockList::BlockList(std::size_t max_entries) : max_entries_(max_entries), entries_(0, Hash{KeyedHasher::random()}) {}

void BlockList::client_blocked(const IpAddress& client, Nanos until, std::string_view origin) {
    if (!add(client, until, origin)) lost_.fetch_add(1, std::memory_order_relaxed);
}

bool BlockList::add(const IpAddress& client, Nanos until, std::string_view origin) {
    const Nanos refused_until = origin == kApiBlockOrigin ? until : 0;
    const std::lock_guard change(change_mutex_);
    bool longer = true;
    {
        const std::unique_lock lock(mutex_);
        const auto it = entries_.find(client);
        if (it != entries_.end()) {
            Value& v = it->second;
            longer = v.until < until;
            const bool refused_longer = v.refused_until < refused_until;
            if (!longer && !refused_longer) return true;
            if (longer) v.until = until, v.origin = origin;
            if (refused_longer && v.refused_until == 0) refusing_.fetch_add(1, std::memory_order_relaxed);
            if (refused_longer) v.refused_until = refused_until;
        } else {
            if (entries_.size() >= max_entries_) return false;
            entries_.emplace(client, Value{until, std::string(origin), refused_until});
            if (refused_until != 0) refusing_.fetch_add(1, std::memory_order_relaxed);
            count_.store(entries_.size(), std::memory_order_relaxed);
        }
        version_.fetch_add(1, std::memory_order_relaxed);
    }
    // The listener drops all packets until the longest block ends.
    if (longer && listener_) listener_->client_blocked(client, until, origin);
    return true;
}

void BlockList::client_unblocked(const IpAddress& client) {
    const std::lock_guard change(change_mutex_);
    {
        const std::unique_lock lock(mutex_);
        if (const auto it = entries_.find(client); it != entries_.end()) {
            forget_refusal(it->second);
            entries_.erase(it);
            count_.store(entries_.size(), std::memory_order_relaxed);
            version_.fetch_add(1, std::memory_order_relaxed);
        }
    }
    // Also when not listed: the listener may hold a block of its own.
    if (listener_) listener_->client_unblocked(client);
}

void BlockList::forget_refusal(const Value& value) {
    if (value.refused_until != 0) refusing_.fetch_sub(1, std::memory_order_relaxed);
}

std::optional<Nanos> BlockList::refused_until(const IpAddress& client, Nanos now) const {
    if (!refuses_anyone()) return std::nullopt;
    const std::shared_lock lock(mutex_);
    const auto it = entries_.find(client);
    if (it == entries_.end() || it->second.refused_until <= now) return std::nullopt;
    return it->second.refused_until;
}

std::vector<BlockEntry> BlockList::entries(Nanos now) const {
    std::vector<BlockEntry> out;
    {
        const std::shared_lock lock(mutex_);
        for (const auto& [client, value] : entries_) {
            if (value.until > now) out.push_back({client, value.until, value.origin});
            // An API block under a longer quota block is a block of its own.
            if (value.refused_until > now && value.origin != kApiBlockOrigin)
                out.push_back({client, value.refused_until, std::string(kApiBlockOrigin)});
        }
    }
    std::sort(out.begin(), out.end(), [](const BlockEntry& a, const BlockEntry& b) {
        return a.client.bytes != b.client.bytes ? a.client.bytes < b.client.bytes : a.until < b.until;
    });
    return out;
}

std::size_t BlockList::expire(Nanos now) {
    const std::lock_guard change(change_mutex_);
    const std::unique_lock lock(mutex_);
    const std::size_t removed = std::erase_if(entries_, [&](const auto& entry) {
        if (entry.second.until > now) return false;
        forget_refusal(entry.second);
        return true;
    });
    if (removed != 0) {
        count_.store(entries_.size(), std::memory_order_relaxed);
        version_.fetch_add(1, std::memory_order_relaxed);
    }
    return removed;
}

std::size_t BlockList::size() const { return count_.load(std::memory_order_relaxed); }

}  // namespace sluice
