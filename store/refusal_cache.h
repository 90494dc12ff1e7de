// Keys a network store refused, each until its exact retry time: until then
// the key is refused here, without a round trip. Exact because a refusal
// consumes nothing and other hosts can only move a key's retry time later
// (an unblock through the API clears the key here too).
#pragma once

#include "limit/algorithms.h"

#include <cstdint>
#include <unordered_map>

namespace sluice {

class RefusalCache {
public:
    // At most `capacity` keys: a full cache drops the refusals that ran out,
    // and if none did, remembers nothing more (those keys ask the store).
    explicit RefusalCache(std::size_t capacity) : capacity_(capacity) {}

    // The refusal of `key` that still holds at `now`, as the store evaluated
    // it then (retry_after and reset counted from `now`).
    std::optional<Evaluation> find(std::uint64_t key, Nanos now);

    // A refused check's evaluation at `now`.
    void remember(std::uint64_t key, const Evaluation& refused, Nanos now);

    void forget(std::uint64_t key) { refusals_.erase(key); }
    std::size_t size() const { return refusals_.size(); }

private:
    struct Refusal {
        Nanos retry_at;
        Nanos reset_at;
    };

    std::size_t capacity_;
    std::unordered_map<std::uint64_t, Refusal> refusals_;
};

}  // namespace sluice
