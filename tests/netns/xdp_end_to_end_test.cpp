// sluiced and its XDP program end to end: real veth, real namespaces, real
// kernel. Clients live in a namespace: .2 floods or abuses, .3 is a good
// client that must stay served throughout.
#include "netns_fixture.h"

#include "xdp/abi.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kNsPerS = 1'000'000'000;

// Enough for every request a test makes, so only the XDP side limits.
const nlohmann::json kGenerousQuota = {{{"name", "per-ip"}, {"path", ""}, {"rate", 1000}, {"interval", "1m"}}};
// Three requests a minute, then the client is blocked for 30 s (in XDP too).
const nlohmann::json kStrictQuota = {
    {{"name", "per-ip"}, {"path", ""}, {"rate", 3}, {"interval", "1m"}, {"block_interval", "30s"}}};
const nlohmann::json kLooseXdp = {{"rate_pps", 100}, {"burst", 200}};

// A curl from .3: SYN, ACK, request, ACKs, FIN, ACK; ten is a generous bound.
constexpr std::uint64_t kPacketsPerRequest = 10;

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

class XdpEndToEnd : public NetnsTest {
protected:
    // From .2: three 200s, then 429 and an XDP block; returns when the 429
    // came, in xdp_now_ns() time.
    std::uint64_t get_abuser_blocked_by_http() {
        for (int i = 0; i < 3; ++i) {
            const CurlResult ok = curl(abuser_ip());
            EXPECT_EQ(ok.exit_code, 0) << "request " << i;
            EXPECT_EQ(ok.status, 200) << "request " << i;
        }
        const CurlResult refused = curl(abuser_ip());
        const std::uint64_t refused_at = xdp_now_ns();
        EXPECT_EQ(refused.exit_code, 0);
        EXPECT_EQ(refused.status, 429);
        return refused_at;
    }

    // A connect from .2 that XDP drops: curl gives up on the SYN (exit 28).
    void expect_abuser_cannot_connect(const char* when) {
        const CurlResult blocked = curl(abuser_ip());
        EXPECT_EQ(blocked.exit_code, 28) << when << ": curl from the blocked source (HTTP " << blocked.status << ")";
    }

    // As expect_abuser_cannot_connect, and the SYN counted as blocked.
    void expect_abuser_dropped_as_blocked(const char* when) {
        const std::uint64_t blocked_before = packets(SLUICE_DROP_BLOCKED);
        expect_abuser_cannot_connect(when);
        EXPECT_GE(packets(SLUICE_DROP_BLOCKED), blocked_before + 1) << when << ": the SYN was not dropped as blocked";
    }

    // .2's block map entry: made by `origin`, expiring within 2 s of
    // `expected_ns` (xdp_now_ns() time).
    void expect_abuser_block(sluice_block_origin origin, std::uint64_t expected_ns) {
        const std::optional<sluice_block_entry> entry = block_entry(abuser_ip());
        ASSERT_TRUE(entry) << abuser_ip() << " is not in the block map";
        EXPECT_EQ(entry->origin, static_cast<std::uint32_t>(origin));
        const std::int64_t expiry_error =
            static_cast<std::int64_t>(entry->expires_ns) - static_cast<std::int64_t>(expected_ns);
        EXPECT_LE(std::abs(expiry_error), static_cast<std::int64_t>(2 * kNsPerS))
            << "expires " << expiry_error / 1e9 << " s away from the expected end";
    }

    void expect_good_client_served(const char* when) {
        const CurlResult good = curl(good_ip());
        EXPECT_EQ(good.exit_code, 0) << when;
        EXPECT_EQ(good.status, 200) << when;
    }
};

TEST_F(XdpEndToEnd, ReloadUpdatesTheDenyListInPlace) {
    start_sluiced(make_config(kGenerousQuota, kLooseXdp));
    ASSERT_EQ(curl(abuser_ip()).status, 200);
    // Writes the config, sends SIGHUP, returns once sluiced has reloaded it.
    std::size_t reloads = 0;
    const auto reload = [&](const nlohmann::json& xdp) {
        write_config(make_config(kGenerousQuota, xdp));
        sluiced().send_signal(SIGHUP);
        ++reloads;
        for (int i = 0; i < 50 && count_of(sluiced().stderr_text(), "sluiced: reloaded") < reloads; ++i)
            std::this_thread::sleep_for(100ms);
        ASSERT_EQ(count_of(sluiced().stderr_text(), "sluiced: reloaded"), reloads) << sluiced().stderr_text();
    };

    nlohmann::json deny_abuser = kLooseXdp;
    deny_abuser["deny"] = {abuser_ip() + "/32"};
    reload(deny_abuser);
    const std::uint64_t denied_before = packets(SLUICE_DROP_DENIED);
    expect_abuser_cannot_connect("after the reload denied it");
    EXPECT_GT(packets(SLUICE_DROP_DENIED), denied_before);
    expect_good_client_served("after the reload");

    reload(kLooseXdp);
    EXPECT_EQ(curl(abuser_ip()).status, 200) << "the deny entry is gone after the second reload";
}

TEST_F(XdpEndToEnd, FloodOverTheRateIsDroppedOtherSourceServed) {
    constexpr double rate = 100;
    constexpr double burst = 100;
    constexpr unsigned long count = 20'000;
    ASSERT_NO_FATAL_FAILURE(start_sluiced(make_config(kGenerousQuota, {{"rate_pps", rate}, {"burst", burst}})));
    // Also resolves the server's MAC in the namespace: datagrams waiting for
    // ARP would be dropped before they reach the veth.
    expect_good_client_served("before the flood");
    const XdpCounters before = counters();

    auto flood = start_flood(abuser_ip(), count);
    constexpr int requests_during = 3;
    for (int i = 0; i < requests_during; ++i) expect_good_client_served("during the flood");
    const FloodResult sent = flood_result(*flood);
    const XdpCounters after = counters();
    expect_good_client_served("after the flood");
    expect_good_client_served("after the flood");

    ASSERT_EQ(sent.sent, count);
    const std::uint64_t passed = after[SLUICE_PASS_RATE_OK].packets - before[SLUICE_PASS_RATE_OK].packets;
    const std::uint64_t dropped = after[SLUICE_DROP_RATE].packets - before[SLUICE_DROP_RATE].packets;
    // What .2 may pass: its burst, what the rate refills while it floods (50 ms
    // extra for the program running behind the sender and the coarse clock's
    // tick), plus .3's requests, which count as passed too.
    const double allowed = burst + rate * (sent.elapsed + 0.05) + 2;
    const std::uint64_t good_packets = requests_during * kPacketsPerRequest;
    RecordProperty("flood_seconds", std::to_string(sent.elapsed));
    std::printf("flood: %lu datagrams in %.3f s; XDP passed %llu, rate-dropped %llu\n", sent.sent, sent.elapsed,
                static_cast<unsigned long long>(passed), static_cast<unsigned long long>(dropped));

    EXPECT_GT(dropped, 0u);
    EXPECT_LE(dropped, count);  // only .2 is over its rate
    EXPECT_GE(static_cast<double>(dropped), count - allowed);
    EXPECT_GE(passed, static_cast<std::uint64_t>(burst));  // the burst is let through
    EXPECT_LE(static_cast<double>(passed), allowed + good_packets);
    // Every datagram reached the program: nothing was lost on the way.
    EXPECT_GE(passed + dropped, count);
    EXPECT_EQ(after[SLUICE_DROP_BLOCKED].packets, before[SLUICE_DROP_BLOCKED].packets);  // no block_on_exceed
}

TEST_F(XdpEndToEnd, HttpBlockEscalatesToXdp) {
    ASSERT_NO_FATAL_FAILURE(start_sluiced(make_config(kStrictQuota, kLooseXdp)));
    const std::uint64_t refused_at = get_abuser_blocked_by_http();
    expect_abuser_dropped_as_blocked("after the 429");
    expect_abuser_block(SLUICE_BLOCKED_BY_HTTP, refused_at + 30 * kNsPerS);  // 429 + block_interval
    EXPECT_FALSE(block_entry(good_ip()));

    expect_good_client_served("while .2 is blocked");
}

TEST_F(XdpEndToEnd, AdminApiBlockDropsAtXdpAndDeleteLiftsIt) {
    const std::string token = "netns-admin-token";
    const std::filesystem::path token_file = dir().write("admin.token", token + "\n");
    std::filesystem::permissions(token_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    const std::uint16_t admin_port = free_port();
    nlohmann::json config = make_config(kGenerousQuota, kLooseXdp);
    config["admin"] = {{"listen", "127.0.0.1:" + std::to_string(admin_port)}, {"token_file", token_file.string()}};
    config["state_dir"] = (dir().path() / "state").string();
    ASSERT_NO_FATAL_FAILURE(start_sluiced(config));
    const CurlResult before = curl(abuser_ip());
    ASSERT_EQ(before.status, 200) << "served before the block (curl exit " << before.exit_code << ")";

    HttpClient admin(admin_port);
    const Headers auth = {{"X-Vault-Token", token}};
    const std::uint64_t put_at = xdp_now_ns();
    const HttpResponse put = admin.request("PUT", "/v1/sys/blocks/" + abuser_ip(), auth, R"({"duration":"1m"})");
    ASSERT_EQ(put.result_int(), 204) << put.body();

    expect_abuser_block(SLUICE_BLOCKED_BY_API, put_at + 60 * kNsPerS);
    expect_abuser_dropped_as_blocked("after the PUT");
    expect_good_client_served("while .2 is blocked");

    const HttpResponse removed = admin.request("DELETE", "/v1/sys/blocks/" + abuser_ip(), auth);
    ASSERT_EQ(removed.result_int(), 204) << removed.body();
    EXPECT_FALSE(block_entry(abuser_ip()));
    const CurlResult after = curl(abuser_ip());
    EXPECT_EQ(after.exit_code, 0) << "still dropped after the DELETE";
    EXPECT_EQ(after.status, 200);
}

TEST_F(XdpEndToEnd, RestartKeepsEnforcement) {
    const nlohmann::json config = make_config(kStrictQuota, kLooseXdp);
    ASSERT_NO_FATAL_FAILURE(start_sluiced(config));
    ASSERT_TRUE(sluiced().wait_for_stderr("XDP attached to " + server_if() + " (native mode", 0ms))
        << sluiced().stderr_text();
    get_abuser_blocked_by_http();
    expect_abuser_cannot_connect("before the restart");

    kill_sluiced();
    // Nothing of sluiced runs now; the pinned link keeps the program attached.
    EXPECT_TRUE(xdp_attached());
    EXPECT_TRUE(std::filesystem::exists(pin_path() + "/link_" + server_if()));
    const XdpCounters down = counters();
    expect_abuser_cannot_connect("while sluiced is down");
    const XdpCounters before_restart = counters();
    EXPECT_GT(before_restart[SLUICE_DROP_BLOCKED].packets, down[SLUICE_DROP_BLOCKED].packets)
        << "no SYN dropped as blocked while sluiced was down";

    ASSERT_NO_FATAL_FAILURE(start_sluiced(config));
    EXPECT_NE(sluiced().stderr_text().find("XDP adopted on " + server_if()), std::string::npos)
        << sluiced().stderr_text();
    const XdpCounters restarted = counters();
    for (unsigned stat = 0; stat < SLUICE_STAT_COUNT; ++stat) {
        EXPECT_GE(restarted[stat].packets, before_restart[stat].packets) << xdp_stat_name(stat) << " went back";
        EXPECT_GE(restarted[stat].bytes, before_restart[stat].bytes) << xdp_stat_name(stat) << " went back";
    }
    const std::optional<sluice_block_entry> entry = block_entry(abuser_ip());
    ASSERT_TRUE(entry) << "the restart lost the block of " << abuser_ip();
    EXPECT_EQ(entry->origin, static_cast<std::uint32_t>(SLUICE_BLOCKED_BY_HTTP));

    expect_abuser_cannot_connect("after the restart");
    EXPECT_GT(packets(SLUICE_DROP_BLOCKED), restarted[SLUICE_DROP_BLOCKED].packets);
    expect_good_client_served("after the restart");
}

TEST_F(XdpEndToEnd, BlockOnExceedBlocksTheFlooder) {
    ASSERT_NO_FATAL_FAILURE(
        start_sluiced(make_config(kGenerousQuota, {{"rate_pps", 50}, {"burst", 50}, {"block_on_exceed", "30s"}})));
    expect_good_client_served("before the flood");  // and ARP resolved

    auto flood = start_flood(abuser_ip(), 2'000);
    const FloodResult sent = flood_result(*flood);
    const std::uint64_t flood_end = xdp_now_ns();
    ASSERT_EQ(sent.sent, 2'000u);

    const std::optional<sluice_block_entry> entry = block_entry(abuser_ip());
    ASSERT_TRUE(entry) << abuser_ip() << " flooded but is not in the block map";
    EXPECT_EQ(entry->origin, static_cast<std::uint32_t>(SLUICE_BLOCKED_BY_RATE));
    // Blocked at the first packet over the rate, i.e. during the flood.
    EXPECT_LE(entry->expires_ns, flood_end + 30 * kNsPerS);
    EXPECT_GE(entry->expires_ns + static_cast<std::uint64_t>((sent.elapsed + 2) * kNsPerS), flood_end + 30 * kNsPerS);
    const XdpCounters after = counters();
    // 51 packets at most pass (burst + one refill), one is rate-dropped and
    // blocks, the rest hit the block.
    EXPECT_GE(after[SLUICE_DROP_RATE].packets, 1u);
    EXPECT_GE(after[SLUICE_DROP_BLOCKED].packets, 2'000u - 50 - 1 - static_cast<std::uint64_t>(50 * sent.elapsed) - 2);

    expect_abuser_cannot_connect("after the flood");
    expect_good_client_served("after the flood");
    EXPECT_FALSE(block_entry(good_ip()));
}

TEST_F(XdpEndToEnd, DetachRemovesProgramAndPins) {
    ASSERT_NO_FATAL_FAILURE(start_sluiced(make_config(kStrictQuota, kLooseXdp)));
    get_abuser_blocked_by_http();
    EXPECT_EQ(stop_sluiced(), 0);
    // Stopped cleanly, yet (detach_on_stop is off) still attached and blocking.
    ASSERT_TRUE(xdp_attached());
    EXPECT_NE(ip_link_show().find("prog/xdp"), std::string::npos) << ip_link_show();
    expect_abuser_cannot_connect("after sluiced stopped");

    const CommandResult detach = sluiced_command({"--xdp-detach"});
    EXPECT_EQ(detach.exit_code, 0) << detach.err;
    EXPECT_NE(detach.out.find("detached XDP from " + server_if()), std::string::npos) << detach.out;
    EXPECT_FALSE(xdp_attached());
    const std::string link = ip_link_show();
    EXPECT_EQ(link.find("xdp"), std::string::npos) << link;
    EXPECT_FALSE(std::filesystem::exists(pin_path()));

    // Something must accept on the port to tell "connected" from "refused":
    // a demo_upstream where sluiced was. .2's SYN now reaches it.
    ChildProcess& listener = keep(
        std::make_unique<ChildProcess>(
            DEMO_UPSTREAM_BINARY, std::vector<std::string>{"--listen", server_ip() + ":" + std::to_string(port())}),
        "demo_upstream on the sluiced port");
    ASSERT_TRUE(listener.wait_for_stderr("demo_upstream: listening on", 10s)) << listener.stderr_text();
    const CurlResult again = curl(abuser_ip());
    EXPECT_NE(again.exit_code, 28) << "still dropped after the detach";
    EXPECT_NE(again.exit_code, 7) << "refused: nothing listening?";
    EXPECT_EQ(again.status, 200);
}

// xdp.detach_on_stop: by hand, SIGTERM is a stop and detaches. Under systemd
// a restart is SIGTERM too, so sluiced leaves XDP attached and the unit's
// stop hook (--service-stopped, after a stop job only) detaches.
TEST_F(XdpEndToEnd, DetachOnStopByHandDetachesAtExit) {
    nlohmann::json xdp = kLooseXdp;
    xdp["detach_on_stop"] = true;
    unsetenv("INVOCATION_ID");  // even when the tests themselves run in a systemd service
    ASSERT_NO_FATAL_FAILURE(start_sluiced(make_config(kGenerousQuota, xdp)));
    ASSERT_TRUE(xdp_attached());
    EXPECT_EQ(stop_sluiced(), 0);
    EXPECT_FALSE(xdp_attached());
    EXPECT_FALSE(std::filesystem::exists(pin_path()));
}

TEST_F(XdpEndToEnd, DetachOnStopUnderSystemdWaitsForTheStopHook) {
    nlohmann::json xdp = kLooseXdp;
    xdp["detach_on_stop"] = true;
    setenv("INVOCATION_ID", "5f0c7e0d2b7b4a6e9d7a1c3e5b7d9f11", 1);  // as systemd starts a service
    ASSERT_NO_FATAL_FAILURE(start_sluiced(make_config(kStrictQuota, xdp)));
    unsetenv("INVOCATION_ID");
    get_abuser_blocked_by_http();
    EXPECT_EQ(stop_sluiced(), 0);
    ASSERT_TRUE(xdp_attached()) << "a restart would have had a gap";
    expect_abuser_cannot_connect("after sluiced exited under systemd");

    const CommandResult hook = sluiced_command({"--service-stopped"});
    EXPECT_EQ(hook.exit_code, 0) << hook.err;
    EXPECT_NE(hook.out.find("detached XDP from " + server_if()), std::string::npos) << hook.out;
    EXPECT_FALSE(xdp_attached());
    EXPECT_FALSE(std::filesystem::exists(pin_path()));
}

TEST_F(XdpEndToEnd, StopHookKeepsXdpWhenDetachOnStopIsOff) {
    ASSERT_NO_FATAL_FAILURE(start_sluiced(make_config(kGenerousQuota, kLooseXdp)));
    EXPECT_EQ(stop_sluiced(), 0);
    const CommandResult hook = sluiced_command({"--service-stopped"});
    EXPECT_EQ(hook.exit_code, 0) << hook.err;
    EXPECT_EQ(hook.out, "");
    EXPECT_TRUE(xdp_attached());
    EXPECT_TRUE(std::filesystem::exists(pin_path()));
}

TEST_F(XdpEndToEnd, WithoutPrivilegeXdpIsOffAndHttpStillServed) {
    ASSERT_NO_FATAL_FAILURE(start_sluiced(make_config(kGenerousQuota, kLooseXdp)));

    // A second sluiced as nobody on another port, its own pin folder: it
    // cannot load XDP and must say so, then serve anyway.
    const std::uint16_t second_port = free_port();
    nlohmann::json xdp = kLooseXdp;
    xdp.update({{"pin_path", pin_path() + "-nobody"}, {"ports", {second_port}}});
    nlohmann::json config = make_config(kGenerousQuota, xdp);
    config["listen"] = {server_ip() + ":" + std::to_string(second_port)};
    const std::filesystem::path file = dir().write("nobody.json", config.dump(2));
    std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                           std::filesystem::perms::group_read | std::filesystem::perms::others_read);
    ChildProcess& nobody =
        keep(std::make_unique<ChildProcess>(
                 "/usr/bin/setpriv",
                 std::vector<std::string>{"--reuid=65534", "--regid=65534", "--clear-groups", "--pdeathsig", "KILL",
                                          SLUICED_BINARY, "--config", file.string()}),
             "sluiced as nobody");
    ASSERT_TRUE(nobody.wait_for_stderr("sluiced: listening on", 10s)) << nobody.stderr_text();
    EXPECT_NE(nobody.stderr_text().find("sluiced: XDP is off:"), std::string::npos) << nobody.stderr_text();
    EXPECT_FALSE(std::filesystem::exists(pin_path() + "-nobody"));

    const CurlResult served = curl(good_ip(), second_port);
    EXPECT_EQ(served.exit_code, 0);
    EXPECT_EQ(served.status, 200);
    expect_good_client_served("by the root sluiced");
}

}  // namespace
}  // namespace sluice::test
