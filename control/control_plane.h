// What can change while sluiced serves: the quotas (from the config and quota
// files, and from the admin API), the settings of /v1/sys/quotas/config and
// the block list. Every change builds a new Policy for the limiter (counters
// of unchanged quotas kept); API changes are written to state_dir before they
// are acknowledged. Thread-safe: the admin API thread and the main thread
// (SIGHUP, ticks) both call in.
//
// Names: a quota belongs to where it was defined first. The API cannot change
// or delete a quota defined in a file, and a file cannot define a name the API
// made (sluiced refuses to start, or the reload is refused, naming both).
#pragma once

#include "common/checked.h"
#include "config/config.h"
#include "limit/block_list.h"
#include "common/clock.h"
#include "limit/limiter.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

class XdpController;

using WallTime = std::chrono::system_clock::time_point;

inline constexpr std::string_view kDefinedByApi = "api";

struct QuotaRecord {
    Quota quota;
    std::string defined_in;  // the config or quota file, or kDefinedByApi
};

struct QuotaUsageReport {
    std::string quota;
    std::uint32_t requests_in_window = 0;
    std::uint32_t limit = 0;
    std::uint32_t remaining = 0;
    WallTime reset_time;
};

struct BlockRecord {
    std::string client;  // an address, or the IPv6 prefix XDP blocks ("2001:db8::/64")
    WallTime until;
    std::string origin;  // "api", "quota:<name>", or "xdp" (the packet rate's block_on_exceed)
};

// The result of a change through the API.
struct Change {
    enum class Status { applied, invalid, failed, unavailable } status = Status::applied;
    // invalid: what is wrong with the request (400); failed: why it was not
    // saved (500); unavailable: why the fleet could not take it (503)
    std::string message;
    bool ok() const { return status == Status::applied; }
};

// Where the API's quota changes go first when a fleet shares them
// (fleet/fleet_sync.h); they apply here once the fleet holds them.
class QuotaFleet {
public:
    virtual ~QuotaFleet() = default;
    virtual Change put_quota(const Quota& quota) = 0;
    virtual Change delete_quota(const std::string& name) = 0;
    virtual Change set_settings(const QuotaSettings& settings) = 0;
};

struct ControlPlaneCounters {
    std::uint64_t reloads = 0;
    std::uint64_t failed_reloads = 0;
    std::uint64_t api_changes = 0;
    std::uint64_t saves_failed = 0;  // block list writes that failed (quota changes report theirs)
};

class ControlPlane {
public:
    // `xdp` may be nullptr (XDP off). Nothing is applied until start().
    ControlPlane(Limiter& limiter, BlockList& blocks, XdpController* xdp, const Clock& clock);

    // Reads state_dir (API quotas, quota settings, blocks), combines them with
    // `config`'s quotas and applies the result. Throws std::runtime_error
    // ("file: field: reason") when the state cannot be read or conflicts.
    void start(const Config& config);

    // SIGHUP with a config that loaded: applies it, or returns why not (a
    // name or path clash with an API quota); the running quotas then stay.
    std::vector<std::string> reload(const Config& config);
    void count_failed_reload();

    // Quotas, by name.
    Change put_quota(Quota quota);
    Change delete_quota(const std::string& name);  // absent: applied (as Vault)
    std::optional<QuotaRecord> quota(const std::string& name) const;
    std::vector<std::string> quota_names() const;  // sorted

    QuotaSettings settings() const;
    Change set_settings(QuotaSettings settings);

    // nullopt: no such quota; failed: the key is not one the quota counts
    // ("key: \"x\" is not an IP address" for a client_ip quota). `key` is
    // the client IP, token or header value in clear.
    std::optional<Checked<QuotaUsageReport>> usage(const std::string& name, std::string_view key) const;

    // The block list, with the XDP side's own blocks (block_on_exceed).
    std::vector<BlockRecord> blocks() const;
    Change block(std::string_view client, std::chrono::nanoseconds duration);
    // Removes the client's blocks everywhere: block list, quota states, XDP.
    // Applied also when it was not blocked.
    Change unblock(std::string_view client);
    // As unblock(), for a block the fleet lifted: not an API change here.
    void lift_block(const IpAddress& client);

    // Once a second: expires blocks and saves the block list if it changed.
    void tick();

    // With a fleet (set before serving): the API's quota changes are written
    // to it first, and refused when it cannot take them.
    void set_fleet(QuotaFleet* fleet);
    // The fleet's API quotas and settings, as the fleet sync reads them: in
    // force here (and saved to state_dir), but for a quota that clashes with
    // one of this host's files, which is logged and left out.
    void apply_fleet_quota(const std::string& name, std::optional<Quota> quota);
    void apply_fleet_settings(QuotaSettings settings);
    void replace_fleet_quotas(std::vector<Quota> quotas, QuotaSettings settings);
    // What this host brings to a fleet: its API quotas and settings, and the
    // quotas of its files (name, file).
    std::vector<Quota> api_quotas() const;
    std::vector<std::pair<std::string, std::string>> file_quotas() const;

    ControlPlaneCounters counters() const;

private:
    // Saves first: a change that cannot be saved is not applied. Callers hold mutex_.
    Change apply_and_save(std::vector<QuotaRecord> api_quotas, QuotaSettings settings);
    void apply_policy();  // file quotas, then API quotas, into a new Policy
    Change save_blocks();
    // Callers hold mutex_: takes `api_quotas` (sorted) without those that
    // clash with a file quota, saves and applies them if they changed.
    void take_fleet_state(std::vector<QuotaRecord> api_quotas, QuotaSettings settings);

    Limiter& limiter_;
    BlockList& blocks_;
    XdpController* xdp_;
    const Clock& clock_;

    mutable std::mutex mutex_;
    std::optional<std::filesystem::path> state_dir_;
    bool redis_store_ = false;  // quotas must fit what the Redis script counts exactly
    HeaderStyle header_style_ = HeaderStyle::draft;
    PathMatching path_matching_;
    std::vector<QuotaRecord> file_quotas_;
    std::vector<QuotaRecord> api_quotas_;  // sorted by name
    QuotaSettings settings_;
    std::uint64_t saved_blocks_version_ = 0;
    ControlPlaneCounters counters_;
    QuotaFleet* fleet_ = nullptr;
};

}  // namespace sluice
