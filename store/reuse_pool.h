// Call objects of one event loop's store handle, kept for reuse: a call must
// stay at its address until its store answers, so a handle allocates only
// when more calls overlap than ever before. Not locked.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace sluice {

template <class Call>
class ReusePool {
public:
    // An idle call, or a new one made from `args`.
    template <class... Args>
    Call& take(Args&... args) {
        if (idle_.empty()) {
            all_.push_back(std::make_unique<Call>(args...));
            idle_.push_back(all_.back().get());
        }
        Call& call = *idle_.back();
        idle_.pop_back();
        return call;
    }
    void give_back(Call& call) { idle_.push_back(&call); }
    std::size_t in_use() const { return all_.size() - idle_.size(); }

private:
    std::vector<std::unique_ptr<Call>> all_;
    std::vector<Call*> idle_;
};

}  // namespace sluice
