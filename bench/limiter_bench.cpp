// Limiter engine throughput and memory per key, at 1k, 100k and 1M tracked
// keys, on one and two threads. See bench/README.md for the method.
#include "limit/limiter.h"
#include "store/local_store.h"

#include <benchmark/benchmark.h>

#include <array>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace sluice {
namespace {

using namespace std::chrono_literals;

struct NoHeaders final : HeaderLookup {
    std::string_view get(std::string_view) const override { return {}; }
};

// A per-IP quota so high nothing is refused, and `keys` clients already
// tracked, so every decision is the hit path of a full table.
struct Fixture {
    explicit Fixture(std::size_t keys)
        : store(keys),
          raw_store(keys),
          limiter(std::make_shared<const Policy>(std::vector<Quota>{per_ip_quota()}, HeaderStyle::draft), store, clock,
                  KeyedHasher::random()) {
        std::mt19937_64 random(42);
        for (std::size_t i = 0; i < keys; ++i) {
            const std::uint32_t v4 = static_cast<std::uint32_t>(random());
            ips.push_back(std::to_string(v4 >> 24) + '.' + std::to_string((v4 >> 16) & 255) + '.' +
                          std::to_string((v4 >> 8) & 255) + '.' + std::to_string(v4 & 255));
            hashes.push_back(random());
        }
        for (const std::string& ip : ips) limiter.decide({"GET", "/v1/x", ip, &headers}, store);
        params = LimitParams::from(per_ip_quota());
        CheckResult result;
        for (std::uint64_t h : hashes) {
            const QuotaCheck check{&params, h, true};
            raw_store.acquire({&check, 1}, clock.now(), {&result, 1});
        }
    }

    static Quota per_ip_quota() {
        Quota q;
        q.name = "per-ip";
        q.path = "/v1/*";
        q.rate = 1e9;
        q.interval = 1h;
        return q;
    }

    SteadyClock clock;
    LocalStore store;      // behind the limiter, keyed by client IP
    LocalStore raw_store;  // for the store alone, keyed by pre-made hashes
    Limiter limiter;
    NoHeaders headers;
    LimitParams params;
    std::vector<std::string> ips;
    std::vector<std::uint64_t> hashes;
};

void report(benchmark::State& state, const LocalStore& store) {
    // Every thread reports the same store: average, not sum.
    state.counters["keys"] =
        benchmark::Counter(static_cast<double>(store.tracked_keys()), benchmark::Counter::kAvgThreads);
    state.counters["bytes_per_key"] = benchmark::Counter(
        static_cast<double>(store.memory_bytes()) / store.tracked_keys(), benchmark::Counter::kAvgThreads);
    state.counters["decisions_per_s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Store only: one atomic check-and-commit of a pre-hashed key.
void store_acquire(benchmark::State& state, Fixture* f) {
    const std::size_t n = f->hashes.size();
    std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7919 % n;
    CheckResult result;
    for (auto _ : state) {
        const QuotaCheck check{&f->params, f->hashes[i], true};
        benchmark::DoNotOptimize(f->raw_store.acquire({&check, 1}, f->clock.now(), {&result, 1}));
        if (++i == n) i = 0;
    }
    report(state, f->raw_store);
}

// The whole engine: match the path, hash the client IP, acquire.
void limiter_decide(benchmark::State& state, Fixture* f) {
    const std::size_t n = f->ips.size();
    std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7919 % n;
    for (auto _ : state) {
        benchmark::DoNotOptimize(f->limiter.decide({"GET", "/v1/things", f->ips[i], &f->headers}, f->store));
        if (++i == n) i = 0;
    }
    report(state, f->store);
}

// The physical floor: one random 32-byte read from a table the size of the
// store's, each read's address depending on the one before (as a request's
// slot depends on its key), so the misses cannot overlap.
void random_read_floor(benchmark::State& state, Fixture* f) {
    __extension__ using Wide = unsigned __int128;
    const std::size_t slots = f->raw_store.memory_bytes() / 32;
    static std::vector<std::array<std::uint64_t, 4>> table;
    if (table.size() != slots) table.assign(slots, {0, 0, 0, 0});
    const std::size_t n = f->hashes.size();
    std::size_t i = 0;
    std::uint64_t previous = 0;  // always 0, but the compiler cannot know
    for (auto _ : state) {
        const std::uint64_t h = f->hashes[i] ^ previous;
        previous = table[static_cast<std::size_t>((Wide{h} * slots) >> 64)][1];
        benchmark::DoNotOptimize(previous);
        if (++i == n) i = 0;
    }
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    std::vector<std::unique_ptr<sluice::Fixture>> fixtures;
    for (std::size_t keys : {1'000u, 100'000u, 1'000'000u}) {
        auto* f = fixtures.emplace_back(std::make_unique<sluice::Fixture>(keys)).get();
        const std::string suffix = "/keys:" + std::to_string(keys);
        benchmark::RegisterBenchmark(("random_read_floor" + suffix).c_str(), sluice::random_read_floor, f)
            ->UseRealTime();
        for (int threads : {1, 2}) {
            benchmark::RegisterBenchmark(("store_acquire" + suffix).c_str(), sluice::store_acquire, f)
                ->Threads(threads)
                ->UseRealTime();
            benchmark::RegisterBenchmark(("limiter_decide" + suffix).c_str(), sluice::limiter_decide, f)
                ->Threads(threads)
                ->UseRealTime();
        }
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
