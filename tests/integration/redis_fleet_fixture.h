// The fixture of tests with several sluiced sharing one real redis-server and
// one upstream (README, "Fleet mode"); skipped where redis-server is missing.
#pragma once

#include "harness.h"

#include "tests/support/redis_server.h"

#include <cstdint>
#include <memory>
#include <optional>

namespace sluice::test {

class RedisFleetTest : public sluice::testing::RedisServerTest {
protected:
    void SetUp() override {
        RedisServerTest::SetUp();
        if (IsSkipped()) return;
        redis_.emplace();
        upstream_ = start_demo_upstream(upstream_port_);
    }

    std::optional<sluice::testing::RedisServer> redis_;
    sluice::testing::TempFolder shared_;  // the fleet key, the hosts' state_dirs
    std::uint16_t upstream_port_ = free_port();
    std::unique_ptr<ChildProcess> upstream_;
};

}  // namespace sluice::test
