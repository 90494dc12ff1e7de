#include "xdp/block_filter.h"

#include <atomic>
#include <stdexcept>

namespace sluice {

BlockFilter::BlockFilter(int filter_fd)
    : entries_(filter_fd, sizeof(sluice_block_filter_entry)),
      words_(entries_.entries() - 1) {
    if (words_ == 0 || (words_ & (words_ - 1)) != 0)
        throw std::runtime_error("the XDP block filter is not sized as the program expects");
}

__u64& BlockFilter::current_generation() const { return entries_.at<sluice_block_filter_entry>(words_).bits[0]; }

void BlockFilter::add(const sluice_source_key& key) {
    const __u64 hash = sluice_source_hash(&key);
    const __u64 generation = std::atomic_ref(current_generation()).load() % SLUICE_BLOCK_FILTER_GENERATIONS;
    __u64& word = entries_.at<sluice_block_filter_entry>(sluice_block_filter_word(hash, words_)).bits[generation];
    std::atomic_ref(word).fetch_or(sluice_block_filter_bits(hash));
}

void BlockFilter::rebuild(const std::vector<sluice_source_key>& blocked) {
    std::vector<__u64> fresh(words_);
    for (const sluice_source_key& key : blocked) {
        const __u64 hash = sluice_source_hash(&key);
        fresh[sluice_block_filter_word(hash, words_)] |= sluice_block_filter_bits(hash);
    }
    const __u64 next = (std::atomic_ref(current_generation()).load() + 1) % SLUICE_BLOCK_FILTER_GENERATIONS;
    for (__u32 i = 0; i < words_; ++i)
        std::atomic_ref(entries_.at<sluice_block_filter_entry>(i).bits[next]).store(fresh[i]);
    std::atomic_ref(current_generation()).store(next);
}

}  // namespace sluice
