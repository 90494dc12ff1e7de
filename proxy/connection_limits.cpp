#include "proxy/connection_limits.h"

#include "limit/client_identity.h"

#include <sys/resource.h>

#include <algorithm>
#include <string_view>
#include <utility>

namespace sluice {

std::size_t ConnectionLimits::Hash::operator()(const IpAddress& a) const {
    return static_cast<std::size_t>(
        (*hasher)(std::string_view(reinterpret_cast<const char*>(a.bytes.data()), a.bytes.size())));
}

ConnectionLimits::Slot::Slot(Slot&& other) noexcept
    : limits_(std::exchange(other.limits_, nullptr)),
      client_(other.client_),
      per_ip_(other.per_ip_) {}

ConnectionLimits::Slot& ConnectionLimits::Slot::operator=(Slot&& other) noexcept {
    if (this != &other) {
        if (limits_) limits_->release(client_, per_ip_);
        limits_ = std::exchange(other.limits_, nullptr);
        client_ = other.client_;
        per_ip_ = other.per_ip_;
    }
    return *this;
}

ConnectionLimits::Slot::~Slot() {
    if (limits_) limits_->release(client_, per_ip_);
}

ConnectionLimits::ConnectionLimits(std::size_t max_total, std::size_t max_per_ip)
    : max_total_(max_total),
      max_per_ip_(max_per_ip),
      hasher_(KeyedHasher::random()) {
    for (Shard& shard : shards_) shard.counts = decltype(shard.counts)(0, Hash{&hasher_});
}

ConnectionLimits::Shard& ConnectionLimits::shard_of(const IpAddress& client) {
    // The top bits: the maps inside use the low ones for their buckets.
    return shards_[(Hash{&hasher_}(client) >> 60) % shards_.size()];
}

void ConnectionLimits::block_over_per_ip_cap(BlockListener& blocks, const Clock& clock, Nanos block_for) {
    blocks_ = &blocks;
    clock_ = &clock;
    block_for_ = block_for;
}

ConnectionLimits::Refusal ConnectionLimits::admit(const IpAddress& peer, Slot& slot,
                                                  const std::vector<Cidr>& trusted_proxies) {
    if (open_.fetch_add(1, std::memory_order_relaxed) >= max_total_) {
        open_.fetch_sub(1, std::memory_order_relaxed);
        refused_total_.fetch_add(1, std::memory_order_relaxed);
        return Refusal::total;
    }
    const IpAddress client = connection_key(peer);
    const bool per_ip = max_per_ip_ > 0 && !is_trusted_proxy(peer, trusted_proxies);
    if (per_ip && !count_in(client)) {
        open_.fetch_sub(1, std::memory_order_relaxed);
        refused_per_ip_.fetch_add(1, std::memory_order_relaxed);
        if (blocks_) blocks_->client_blocked(peer, clock_->now() + block_for_, kConnectionsBlockOrigin);
        return Refusal::per_ip;
    }
    slot = Slot(this, client, per_ip);
    return Refusal::none;
}

bool ConnectionLimits::count_in(const IpAddress& client) {
    Shard& shard = shard_of(client);
    const std::lock_guard lock(shard.mutex);
    std::size_t& count = shard.counts[client];
    if (count >= max_per_ip_) return false;  // its count is >= 1: the entry stays for its open connections
    ++count;
    return true;
}

void ConnectionLimits::release(const IpAddress& client, bool per_ip) {
    if (per_ip) {
        Shard& shard = shard_of(client);
        const std::lock_guard lock(shard.mutex);
        const auto it = shard.counts.find(client);
        if (it != shard.counts.end() && --it->second == 0) shard.counts.erase(it);
    }
    open_.fetch_sub(1, std::memory_order_relaxed);
}

ConnectionCounts ConnectionLimits::counts() const {
    return {open(), max_total_, refused_total_.load(std::memory_order_relaxed),
            refused_per_ip_.load(std::memory_order_relaxed)};
}

std::size_t ConnectionLimits::clients() const {
    std::size_t n = 0;
    for (const Shard& shard : shards_) {
        const std::lock_guard lock(shard.mutex);
        n += shard.counts.size();
    }
    return n;
}

IpAddress connection_key(const IpAddress& peer) {
    IpAddress key = peer;
    if (!key.is_v4()) std::fill(key.bytes.begin() + 8, key.bytes.end(), std::uint8_t{0});
    return key;
}

std::size_t default_max_connections(std::uint64_t open_files, unsigned threads, std::size_t idle_upstream) {
    const std::uint64_t reserved = std::uint64_t{threads} * idle_upstream + kReservedDescriptors;
    return open_files > reserved ? std::max<std::size_t>(1, (open_files - reserved) / 2) : 1;
}

std::uint64_t raise_open_files_limit(std::string& note) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
    if (limit.rlim_cur < limit.rlim_max) {
        const rlim_t before = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) {
            note = "open files limit raised from " + std::to_string(before) + " to " + std::to_string(limit.rlim_cur);
        } else {
            limit.rlim_cur = before;
        }
    }
    if (note.empty()) note = "open files limit " + std::to_string(limit.rlim_cur);
    return limit.rlim_cur;
}

}  // namespace sluice
