// Quota counters across a restart of a real sluiced: with state_dir a client
// that used up its quota finds it used up after SIGTERM and a new start, as
// if sluiced had run on; without state_dir nothing is written.
#include "harness.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <fstream>

using ::testing::HasSubstr;
using ::testing::Not;

namespace sluice::test {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

nlohmann::json quota(const std::string& name, const std::string& path, double rate,
                     const std::string& algorithm = "token_bucket") {
    return {{"name", name}, {"path", path}, {"rate", rate}, {"interval", "1h"}, {"algorithm", algorithm}};
}

// sluiced whose state_dir outlives it, so that the next one starts on it.
class RestartedSluice {
public:
    explicit RestartedSluice(nlohmann::json quotas) {
        config_ = {{"quotas", std::move(quotas)}, {"state_dir", state_dir().string()}};
        start();
    }

    void start() { deployment_ = std::make_unique<Deployment>(config_); }
    // SIGTERM; returns what it logged.
    std::string stop() {
        EXPECT_EQ(deployment_->stop_sluiced(), 0);
        std::string log = deployment_->sluiced().stderr_text();
        deployment_.reset();
        return log;
    }
    nlohmann::json& config() { return config_; }
    fs::path state_dir() const { return folder_.path() / "state"; }
    fs::path counters() const { return state_dir() / "counters.bin"; }
    HttpClient client() const { return deployment_->client(); }
    std::string log() const { return deployment_->sluiced().stderr_text(); }

private:
    testing::TempFolder folder_;
    nlohmann::json config_;
    std::unique_ptr<Deployment> deployment_;
};

int status(HttpClient& client, const std::string& target) { return client.get(target).result_int(); }

TEST(CounterRestart, AnExhaustedQuotaIsStillExhaustedAfterARestart) {
    RestartedSluice sluice(nlohmann::json::array({quota("per-ip", "/v1/*", 5)}));
    HttpClient client = sluice.client();
    for (int i = 0; i < 5; ++i) EXPECT_EQ(status(client, "/v1/things"), 200) << i;
    const HttpResponse before = client.get("/v1/things");
    const Steady::time_point refused_at = Steady::now();
    ASSERT_EQ(before.result_int(), 429);
    EXPECT_EQ(header(before, "Retry-After"), "720");  // one token in 12 minutes

    const std::string stopped = sluice.stop();
    EXPECT_THAT(stopped, HasSubstr("sluiced: saved 1 quota counters to " + sluice.counters().string() + "\n"));
    struct stat st {};
    ASSERT_EQ(::stat(sluice.counters().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);

    sluice.start();
    EXPECT_THAT(sluice.log(),
                HasSubstr("sluiced: restored 1 quota counters from " + sluice.counters().string() + " (saved "));
    HttpClient again = sluice.client();
    const HttpResponse after = again.get("/v1/things");
    const double elapsed = std::chrono::duration<double>(Steady::now() - refused_at).count();
    ASSERT_EQ(after.result_int(), 429) << "a restart must not hand out a fresh budget";
    // What a sluiced that ran on would say now: the same, less the seconds gone by.
    const int retry_after = std::stoi(header(after, "Retry-After"));
    EXPECT_LE(retry_after, 720);
    EXPECT_GE(retry_after, 720 - static_cast<int>(std::ceil(elapsed)));
    for (const char* name : {"RateLimit-Limit", "RateLimit-Remaining"})
        EXPECT_EQ(header(after, name), header(before, name)) << name;
    const int reset_before = std::stoi(header(before, "RateLimit-Reset"));
    const int reset_after = std::stoi(header(after, "RateLimit-Reset"));
    EXPECT_LE(reset_after, reset_before);
    EXPECT_GE(reset_after, reset_before - static_cast<int>(std::ceil(elapsed)));
}

TEST(CounterRestart, APartlyUsedWindowAdmitsExactlyTheRestAfterARestart) {
    RestartedSluice sluice(nlohmann::json::array({quota("per-ip", "/v1/*", 5, "fixed_window")}));
    HttpClient client = sluice.client();
    for (int i = 0; i < 3; ++i) {
        const HttpResponse r = client.get("/v1/things");
        EXPECT_EQ(r.result_int(), 200);
        EXPECT_EQ(header(r, "RateLimit-Remaining"), std::to_string(4 - i));
    }
    sluice.stop();
    sluice.start();
    HttpClient again = sluice.client();
    for (int i = 0; i < 2; ++i) {
        const HttpResponse r = again.get("/v1/things");
        EXPECT_EQ(r.result_int(), 200) << i;
        EXPECT_EQ(header(r, "RateLimit-Remaining"), std::to_string(1 - i));
    }
    EXPECT_EQ(status(again, "/v1/things"), 429);
}

TEST(CounterRestart, AQuotaWhoseRateChangedStartsFreshOthersCountOn) {
    RestartedSluice sluice(nlohmann::json::array({quota("changed", "/v1/*", 5), quota("kept", "/v2/*", 2)}));
    HttpClient client = sluice.client();
    for (int i = 0; i < 5; ++i) EXPECT_EQ(status(client, "/v1/things"), 200);
    for (int i = 0; i < 2; ++i) EXPECT_EQ(status(client, "/v2/things"), 200);
    EXPECT_EQ(status(client, "/v1/things"), 429);
    EXPECT_EQ(status(client, "/v2/things"), 429);
    sluice.stop();

    sluice.config()["quotas"][0]["rate"] = 6;
    sluice.start();
    HttpClient again = sluice.client();
    for (int i = 0; i < 6; ++i) EXPECT_EQ(status(again, "/v1/things"), 200) << i;
    EXPECT_EQ(status(again, "/v1/things"), 429);
    EXPECT_EQ(status(again, "/v2/things"), 429);
}

TEST(CounterRestart, ADamagedSnapshotIsReportedAndCountersStartFresh) {
    RestartedSluice sluice(nlohmann::json::array({quota("per-ip", "/v1/*", 2)}));
    HttpClient client = sluice.client();
    for (int i = 0; i < 2; ++i) EXPECT_EQ(status(client, "/v1/things"), 200);
    sluice.stop();
    std::ofstream(sluice.counters(), std::ios::binary | std::ios::trunc) << "SLUICEQC";

    sluice.start();
    EXPECT_THAT(sluice.log(), HasSubstr("sluiced: ignoring " + sluice.counters().string() +
                                        ": truncated: 8 bytes, a snapshot has at least 64; quota counters start "
                                        "fresh\n"));
    HttpClient again = sluice.client();
    for (int i = 0; i < 2; ++i) EXPECT_EQ(status(again, "/v1/things"), 200) << i;
    EXPECT_EQ(status(again, "/v1/things"), 429);
}

TEST(CounterRestart, WithoutStateDirNothingIsWritten) {
    Deployment sluice(nlohmann::json{{"quotas", nlohmann::json::array({quota("per-ip", "/v1/*", 5)})}});
    HttpClient client = sluice.client();
    for (int i = 0; i < 3; ++i) EXPECT_EQ(status(client, "/v1/things"), 200);
    EXPECT_EQ(sluice.stop_sluiced(), 0);
    EXPECT_THAT(sluice.sluiced().stderr_text(), Not(HasSubstr("quota counters")));
    std::vector<std::string> files;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(sluice.dir().path()))
        files.push_back(entry.path().filename().string());
    EXPECT_EQ(files, std::vector<std::string>{"sluiced.json"});
}

}  // namespace
}  // namespace sluice::test
