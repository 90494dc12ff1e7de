#include "control/control_plane.h"
#include "store/local_store.h"

#include "tests/support/fake_clock.h"
#include "tests/support/temp_folder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace sluice {
namespace {

class ControlPlaneTest : public ::testing::Test {
protected:
    ControlPlaneTest() { start(); }

    // A sluiced (re)starting on the same state_dir: fresh limiter, store and list.
    void start() {
        control.reset();
        limiter = std::make_unique<Limiter>(std::make_shared<const Policy>(std::vector<Quota>{}, HeaderStyle::draft),
                                            store, clock, KeyedHasher(1, 2));
        blocks = std::make_unique<BlockList>(3);
        limiter->set_block_list(blocks.get());
        control = std::make_unique<ControlPlane>(*limiter, *blocks, nullptr, clock);
        control->start(config);
    }

    Decision request(std::string_view path, std::string_view ip = "192.0.2.1") {
        return limiter->decide({"GET", path, ip, nullptr}, store);
    }
    std::vector<std::string> policy_names() const {
        std::vector<std::string> names;
        for (const CompiledQuota& q : limiter->policy()->quotas()) names.push_back(q.spec.name);
        return names;
    }

    static Config file_config(std::vector<Quota> quotas, const std::filesystem::path& state_dir) {
        Config config;
        config.state_dir = state_dir;
        for (Quota& q : quotas) {
            config.quota_sources.push_back("/etc/sluice/sluice.json");
            config.quotas.push_back(std::move(q));
        }
        return config;
    }

    testing::TempFolder folder;
    testing::FakeClock clock;
    LocalStore store{1000};
    Config config = file_config({testing::make_quota("file-quota", "/file", 2, 1min)}, folder / "state");
    std::unique_ptr<Limiter> limiter;
    std::unique_ptr<BlockList> blocks;
    std::unique_ptr<ControlPlane> control;
};

TEST_F(ControlPlaneTest, ApiQuotaIsEnforcedOnTheNextRequestAndSurvivesARestart) {
    ASSERT_TRUE(control->put_quota(testing::make_quota("api-quota", "/api", 1, 1min)).ok());
    EXPECT_TRUE(request("/api").allowed);
    EXPECT_FALSE(request("/api").allowed);
    EXPECT_THAT(control->quota_names(), ElementsAre("api-quota", "file-quota"));
    EXPECT_EQ(control->quota("api-quota")->defined_in, "api");
    EXPECT_EQ(control->quota("file-quota")->defined_in, "/etc/sluice/sluice.json");

    start();
    EXPECT_THAT(policy_names(), ElementsAre("file-quota", "api-quota"));
    EXPECT_EQ(control->quota("api-quota")->quota, testing::make_quota("api-quota", "/api", 1, 1min));
}

TEST_F(ControlPlaneTest, ChangingOneQuotaKeepsTheCountersOfTheOthers) {
    request("/file");
    ASSERT_TRUE(control->put_quota(testing::make_quota("api-quota", "/api", 5, 1min)).ok());
    EXPECT_EQ(request("/file").outcomes[0].remaining, 0u);  // the second of 2: the first still counts
    EXPECT_EQ(limiter->policy()->find("file-quota")->counters->total(QuotaCounters::Outcome::allowed), 2u);
}

TEST_F(ControlPlaneTest, FileQuotasCannotBeChangedOrDeletedThroughTheApi) {
    const Change put = control->put_quota(testing::make_quota("file-quota", "/other", 1, 1s));
    EXPECT_EQ(put.status, Change::Status::invalid);
    EXPECT_EQ(put.message,
              "quota \"file-quota\" is defined in /etc/sluice/sluice.json: change it there and reload (SIGHUP)");
    EXPECT_EQ(control->delete_quota("file-quota").message, put.message);
    EXPECT_EQ(control->quota("file-quota")->quota.path, "/file");
}

TEST_F(ControlPlaneTest, ApiQuotaWithTheSamePathAndKeyAsAFileQuotaConflicts) {
    const Change put = control->put_quota(testing::make_quota("twin", "/file", 1, 1s));
    EXPECT_EQ(put.status, Change::Status::invalid);
    EXPECT_EQ(put.message, "quota \"twin\" conflicts with quota \"file-quota\": same key and equally specific path");
    EXPECT_THAT(control->quota_names(), ElementsAre("file-quota"));
}

TEST_F(ControlPlaneTest, WithTheRedisStoreAnApiQuotaBeyondWhatTheScriptCountsExactlyIsRefused) {
    config.store = RedisStoreConfig{};
    start();
    const Change yearly = control->put_quota(testing::make_quota("yearly", "/api", 1000, 8760h));
    EXPECT_EQ(yearly.status, Change::Status::invalid);
    EXPECT_EQ(yearly.message,
              "quota \"yearly\": with the Redis store: spans more than 52 days (interval, block_interval or the time "
              "to refill the burst), more than the Redis store counts exactly");
    EXPECT_TRUE(control->put_quota(testing::make_quota("monthly", "/api", 1000, 744h)).ok());
}

TEST_F(ControlPlaneTest, DeletingAnAbsentQuotaIsApplied) {
    EXPECT_TRUE(control->delete_quota("never-made").ok());
    ASSERT_TRUE(control->put_quota(testing::make_quota("api-quota", "/api", 1, 1s)).ok());
    ASSERT_TRUE(control->delete_quota("api-quota").ok());
    start();
    EXPECT_THAT(control->quota_names(), ElementsAre("file-quota"));
}

TEST_F(ControlPlaneTest, ReloadThatReusesAnApiNameIsRefusedAndTheRunningQuotasStay) {
    ASSERT_TRUE(control->put_quota(testing::make_quota("api-quota", "/api", 1, 1s)).ok());
    Config next = file_config({testing::make_quota("api-quota", "/elsewhere", 9, 1s)}, folder / "state");
    EXPECT_THAT(control->reload(next),
                ElementsAre("quota \"api-quota\" in /etc/sluice/sluice.json has the name of a quota made through the "
                            "admin API; delete that one first (sluicectl quota delete api-quota) or rename this one"));
    EXPECT_THAT(policy_names(), ElementsAre("file-quota", "api-quota"));
    EXPECT_EQ(control->counters().failed_reloads, 1u);

    // The same clash at start is an error naming both.
    config = next;
    EXPECT_THROW(start(), std::runtime_error);
}

TEST_F(ControlPlaneTest, ReloadReplacesTheFileQuotasAndKeepsTheApiOnes) {
    ASSERT_TRUE(control->put_quota(testing::make_quota("api-quota", "/api", 1, 1s)).ok());
    EXPECT_TRUE(
        control->reload(file_config({testing::make_quota("new-file", "/new", 1, 1s)}, folder / "state")).empty());
    EXPECT_THAT(policy_names(), ElementsAre("new-file", "api-quota"));
    EXPECT_EQ(control->counters().reloads, 1u);
}

TEST_F(ControlPlaneTest, AChangeThatCannotBeSavedIsNotApplied) {
    std::filesystem::remove_all(folder / "state");
    folder.write("state", "a file where the folder was");
    const Change put = control->put_quota(testing::make_quota("api-quota", "/api", 1, 1s));
    EXPECT_EQ(put.status, Change::Status::failed);
    EXPECT_THAT(put.message, HasSubstr("cannot write " + (folder / "state" / "quotas.json").string()));
    EXPECT_THAT(put.message, HasSubstr("; the change is not applied"));
    EXPECT_THAT(control->quota_names(), ElementsAre("file-quota"));
    EXPECT_THAT(policy_names(), ElementsAre("file-quota"));
}

TEST_F(ControlPlaneTest, CorruptStateFileStopsTheStartNamingFileAndField) {
    folder.write("state/quotas.json", R"({"version": 1, "quotas": [{"name": "x", "rate": -1}]})");
    try {
        start();
        FAIL() << "started on a corrupt state file";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()),
                  (folder / "state" / "quotas.json").string() + ": quotas[0].rate: must be greater than 0");
    }
}

TEST_F(ControlPlaneTest, SettingsApplyLiveAndPersist) {
    ASSERT_TRUE(control->put_quota(testing::make_quota("api-quota", "/api", 1, 1min)).ok());
    QuotaSettings settings;
    settings.exempt_paths = {"/api"};
    settings.response_headers = false;
    ASSERT_TRUE(control->set_settings(settings).ok());
    EXPECT_TRUE(request("/api").exempt);
    EXPECT_TRUE(request("/api").allowed);
    start();
    EXPECT_EQ(control->settings(), settings);

    settings.exempt_paths = {"api"};
    const Change bad = control->set_settings(settings);
    EXPECT_EQ(bad.status, Change::Status::invalid);
    EXPECT_EQ(bad.message, "rate_limit_exempt_paths[0]: must start with '/'");
}

TEST_F(ControlPlaneTest, UsageOfAKeyAfterRequests) {
    Quota per_ip = testing::make_quota("api-quota", "/api", 10, 1min, Algorithm::fixed_window);
    ASSERT_TRUE(control->put_quota(per_ip).ok());
    for (int i = 0; i < 3; ++i) request("/api", "2001:db8::1");
    const std::optional<Checked<QuotaUsageReport>> usage = control->usage("api-quota", "2001:DB8:0::1");
    ASSERT_TRUE(usage);
    ASSERT_TRUE(usage->ok()) << usage->error();
    EXPECT_EQ(usage->value().requests_in_window, 3u);
    EXPECT_EQ(usage->value().limit, 10u);
    EXPECT_EQ(usage->value().remaining, 7u);

    const std::optional<Checked<QuotaUsageReport>> bad_key = control->usage("api-quota", "not-an-ip");
    ASSERT_TRUE(bad_key);
    EXPECT_FALSE(bad_key->ok());
    EXPECT_EQ(bad_key->error(), "key: \"not-an-ip\" is not an IP address");
    EXPECT_FALSE(control->usage("absent", "192.0.2.1")) << "no such quota";
}

TEST_F(ControlPlaneTest, ApiBlocksRefuseAtHttpPersistAndUnblockAlsoEndsQuotaBlocks) {
    ASSERT_TRUE(control->block("192.0.2.9", 10min).ok());
    const Decision blocked = request("/file", "192.0.2.9");
    EXPECT_FALSE(blocked.allowed);
    EXPECT_EQ(blocked.blocked_for, std::chrono::nanoseconds(10min).count());
    EXPECT_TRUE(request("/file", "192.0.2.1").allowed);

    start();  // restored from blocks.json
    ASSERT_EQ(control->blocks().size(), 1u);
    EXPECT_EQ(control->blocks()[0].client, "192.0.2.9");
    EXPECT_EQ(control->blocks()[0].origin, "api");
    EXPECT_FALSE(request("/file", "192.0.2.9").allowed);

    Quota blocking = testing::make_quota("blocking", "/b", 1, 1min);
    blocking.block_interval = 1h;
    ASSERT_TRUE(control->put_quota(blocking).ok());
    EXPECT_TRUE(request("/b", "192.0.2.7").allowed);
    EXPECT_FALSE(request("/b", "192.0.2.7").allowed);  // blocked for 1h, by the quota and on the list
    EXPECT_EQ(control->blocks().size(), 2u);

    ASSERT_TRUE(control->unblock("192.0.2.7").ok());
    ASSERT_TRUE(control->unblock("192.0.2.9").ok());
    EXPECT_TRUE(control->blocks().empty());
    EXPECT_TRUE(request("/b", "192.0.2.7").allowed);  // its quota state started afresh
    EXPECT_TRUE(request("/file", "192.0.2.9").allowed);
}

TEST_F(ControlPlaneTest, BlockErrors) {
    EXPECT_EQ(control->block("nope", 1min).message, "\"nope\" is not an IP address");
    EXPECT_EQ(control->block("192.0.2.1", 0s).message, "duration: must be greater than 0");
    for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3"}) ASSERT_TRUE(control->block(ip, 1min).ok());
    const Change full = control->block("192.0.2.4", 1min);
    EXPECT_EQ(full.status, Change::Status::invalid);
    EXPECT_EQ(full.message, "the block list is full (limits.max_blocks 3)");
    EXPECT_EQ(control->unblock("x").message, "\"x\" is not an IP address");
}

// A fleet that takes changes or answers as told, and records what it took.
class FakeQuotaFleet final : public QuotaFleet {
public:
    Change answer;
    std::vector<std::string> taken;
    Change put_quota(const Quota& quota) override { return take("put " + quota.name); }
    Change delete_quota(const std::string& name) override { return take("delete " + name); }
    Change set_settings(const QuotaSettings&) override { return take("settings"); }

private:
    Change take(std::string what) {
        if (answer.ok()) taken.push_back(std::move(what));
        return answer;
    }
};

class ControlPlaneFleetTest : public ControlPlaneTest {
protected:
    ControlPlaneFleetTest() { control->set_fleet(&fleet); }
    FakeQuotaFleet fleet;
};

TEST_F(ControlPlaneFleetTest, ApiChangesGoToTheFleetFirst) {
    ASSERT_TRUE(control->put_quota(testing::make_quota("api-quota", "/api", 1, 1min)).ok());
    ASSERT_TRUE(control->set_settings(QuotaSettings{}).ok());
    ASSERT_TRUE(control->delete_quota("api-quota").ok());
    EXPECT_THAT(fleet.taken, ElementsAre("put api-quota", "settings", "delete api-quota"));
}

TEST_F(ControlPlaneFleetTest, AChangeTheFleetCannotTakeIsNotApplied) {
    fleet.answer = {Change::Status::unavailable, "the fleet's Redis does not answer"};
    const Change change = control->put_quota(testing::make_quota("api-quota", "/api", 1, 1min));
    EXPECT_EQ(change.status, Change::Status::unavailable);
    EXPECT_EQ(change.message, "the fleet's Redis does not answer");
    EXPECT_THAT(control->quota_names(), ElementsAre("file-quota"));
    // A change refused here never reaches the fleet.
    fleet.answer = {};
    EXPECT_EQ(control->put_quota(testing::make_quota("file-quota", "/x", 1, 1min)).status, Change::Status::invalid);
    EXPECT_TRUE(fleet.taken.empty());
}

TEST_F(ControlPlaneFleetTest, TheFleetsQuotasApplyAndAreSavedForAStartWithoutRedis) {
    control->apply_fleet_quota("fleet-quota", testing::make_quota("fleet-quota", "/fleet", 1, 1min));
    EXPECT_TRUE(request("/fleet").allowed);
    EXPECT_FALSE(request("/fleet").allowed);
    EXPECT_EQ(control->quota("fleet-quota")->defined_in, "api");
    start();  // Redis is down: the last synced state
    EXPECT_THAT(control->quota_names(), ElementsAre("file-quota", "fleet-quota"));
    control->replace_fleet_quotas({}, QuotaSettings{});
    EXPECT_THAT(control->quota_names(), ElementsAre("file-quota"));
}

TEST_F(ControlPlaneFleetTest, AFleetQuotaWithTheNameOfAFileQuotaHereIsLeftOut) {
    control->replace_fleet_quotas(
        {testing::make_quota("file-quota", "/other", 9, 1min), testing::make_quota("fleet-quota", "/fleet", 1, 1min)},
        QuotaSettings{});
    EXPECT_THAT(control->quota_names(), ElementsAre("file-quota", "fleet-quota"));
    EXPECT_EQ(control->quota("file-quota")->quota, testing::make_quota("file-quota", "/file", 2, 1min));
    EXPECT_THAT(control->file_quotas(),
                ElementsAre(std::pair<std::string, std::string>{"file-quota", "/etc/sluice/sluice.json"}));
}

}  // namespace
}  // namespace sluice
