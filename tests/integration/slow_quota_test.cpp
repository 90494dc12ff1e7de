// A quota of 1 request per 30000 days, end to end: it used to pass --check
// and then admit everything (the limiter's times saturated at 73 years).
#include "harness.h"

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

TEST(SlowQuota, OnePer30000DaysAdmitsOneThenRefusesWithTheWholeWait) {
    const nlohmann::json quota = {{"name", "once"}, {"path", ""}, {"rate", 1}, {"interval", "30000d"}};
    Deployment sluice(nlohmann::json{{"quotas", nlohmann::json::array({quota})}});
    HttpClient client = sluice.client();
    int admitted = 0;
    for (int i = 0; i < 5; ++i) admitted += client.get("/").result_int() == 200;
    EXPECT_EQ(admitted, 1);
    const HttpResponse refused = client.get("/");
    ASSERT_EQ(refused.result_int(), 429u);
    EXPECT_EQ(header(refused, "Retry-After"), "2592000000");
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

}  // namespace
}  // namespace sluice::test
