// The handlers of a connection's commands in the order they were sent: a
// ring that only grows, so a connection that keeps n commands in flight
// allocates nothing more once it has held n (a deque allocates and frees a
// block every few dozen).
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace sluice {

class RedisReplyHandler;

class RedisHandlerQueue {
public:
    RedisHandlerQueue() = default;
    RedisHandlerQueue(RedisHandlerQueue&& other) noexcept
        : slots_(std::move(other.slots_)),
          head_(std::exchange(other.head_, 0)),
          size_(std::exchange(other.size_, 0)) {}
    RedisHandlerQueue& operator=(RedisHandlerQueue&& other) noexcept {
        slots_ = std::move(other.slots_);
        other.slots_.clear();
        head_ = std::exchange(other.head_, 0);
        size_ = std::exchange(other.size_, 0);
        return *this;
    }

    bool empty() const { return size_ == 0; }
    std::size_t size() const { return size_; }

    void push_back(RedisReplyHandler* handler) {
        if (size_ == slots_.size()) grow();
        slots_[(head_ + size_) & (slots_.size() - 1)] = handler;
        ++size_;
    }
    // Only when not empty().
    RedisReplyHandler* pop_front() {
        RedisReplyHandler* handler = slots_[head_];
        head_ = (head_ + 1) & (slots_.size() - 1);
        --size_;
        return handler;
    }

private:
    void grow() {
        std::vector<RedisReplyHandler*> bigger(std::max<std::size_t>(kFirstSlots, slots_.size() * 2));
        for (std::size_t i = 0; i < size_; ++i) bigger[i] = slots_[(head_ + i) & (slots_.size() - 1)];
        slots_ = std::move(bigger);
        head_ = 0;
    }

    static constexpr std::size_t kFirstSlots = 64;  // a power of two, as every size after it
    std::vector<RedisReplyHandler*> slots_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace sluice
