// After a burst of large requests and answers sluiced gives the memory back:
// its resident size returns close to what it was before, once idle.
#include "harness.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// VmRSS of `pid` in KiB.
long resident_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    throw std::runtime_error("no VmRSS for pid " + std::to_string(pid));
}

TEST(Memory, ResidentSizeReturnsNearItsBaselineAfterABurstOfLargeMessages) {
    constexpr unsigned clients = 4, requests_each = 13;  // 52 requests
    constexpr std::size_t response_bytes = 8 * 1024 * 1024;
    constexpr long bound_kib = 1024;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "built with a sanitizer: its allocator holds freed memory (ASan's quarantine, TSan's shadow), "
                    "so the resident size says nothing about sluiced's own";
#endif
    Deployment sluice(nlohmann::json{{"threads", 2}});
    EXPECT_EQ(sluice.client().get("/v1/things").result_int(), 200);
    std::this_thread::sleep_for(3s);  // as idle as after the burst
    const long baseline = resident_kib(sluice.sluiced().pid());

    const std::string body(900 * 1024, 'b');
    std::vector<std::thread> running;
    std::atomic<unsigned> whole{0};
    for (unsigned c = 0; c < clients; ++c) {
        running.emplace_back([&] {
            HttpClient client = sluice.client();
            for (unsigned i = 0; i < requests_each; ++i) {
                const HttpResponse response =
                    client.request("POST", "/bytes?n=" + std::to_string(response_bytes), {}, body);
                if (response.result_int() == 200 && response.body().size() == response_bytes) ++whole;
            }
        });
    }
    for (std::thread& t : running) t.join();
    EXPECT_EQ(whole.load(), clients * requests_each);
    const long right_after = resident_kib(sluice.sluiced().pid());

    std::this_thread::sleep_for(3s);
    const long after = resident_kib(sluice.sluiced().pid());
    std::printf("VmRSS: baseline %ld KiB, right after %ld KiB, 3 s later %ld KiB\n", baseline, right_after, after);
    EXPECT_LE(after, baseline + bound_kib);
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

}  // namespace
}  // namespace sluice::test
