#include "control/control_plane.h"

#include "state/block_state.h"
#include "config/quota_json.h"
#include "config/quota_settings_json.h"
#include "config/quota_to_json.h"
#include "state/state_file.h"
#include "store/redis_store.h"
#include "xdp/controller.h"
#include "limit/quota_matcher.h"
#include "common/log.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <system_error>

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr int kStateVersion = 1;
constexpr const char* kQuotasFile = "quotas.json";

std::string in_quotes(const std::string& text) { return "\"" + text + "\""; }

struct SavedQuotas {
    std::vector<Quota> quotas;
    QuotaSettings settings;
};

// <state_dir>/quotas.json: the API's quotas and the quota settings.
SavedQuotas load_saved_quotas(const fs::path& file) {
    SavedQuotas saved;
    const std::optional<Json> root = read_state_json(file);
    if (!root) return saved;
    std::vector<ConfigError> errors;
    const JsonField object(*root, "", errors);
    object.for_each_member([&](const std::string& name, const JsonField& value) {
        if (name == "version") {
            value.integer(kStateVersion, kStateVersion);
        } else if (name == "quotas") {
            value.for_each_element([&](const JsonField& element) { saved.quotas.push_back(parse_quota(element)); });
        } else if (name == "settings") {
            saved.settings = parse_quota_settings(value, saved.settings);
        } else {
            return false;
        }
        return true;
    });
    throw_first_error(file, std::move(errors));
    return saved;
}

std::string saved_quotas_text(const std::vector<QuotaRecord>& api_quotas, const QuotaSettings& settings) {
    Json quotas = Json::array();
    for (const QuotaRecord& record : api_quotas) quotas.push_back(quota_to_json(record.quota));
    const Json root{
        {"version", kStateVersion}, {"quotas", std::move(quotas)}, {"settings", quota_settings_to_json(settings)}};
    return root.dump(2) + "\n";
}

const QuotaRecord* find_record(const std::vector<QuotaRecord>& records, const std::string& name) {
    const auto it =
        std::find_if(records.begin(), records.end(), [&](const QuotaRecord& r) { return r.quota.name == name; });
    return it == records.end() ? nullptr : &*it;
}

const Quota* at_name(const std::vector<QuotaRecord>& records, const std::string& name) {
    const QuotaRecord* record = find_record(records, name);
    return record ? &record->quota : nullptr;
}

void sort_by_name(std::vector<QuotaRecord>& records) {
    std::sort(records.begin(), records.end(),
              [](const QuotaRecord& a, const QuotaRecord& b) { return a.quota.name < b.quota.name; });
}

bool same_quotas(const std::vector<QuotaRecord>& a, const std::vector<QuotaRecord>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const QuotaRecord& x, const QuotaRecord& y) { return x.quota == y.quota; });
}

std::vector<QuotaRecord> file_records(const Config& config) {
    std::vector<QuotaRecord> records;
    for (std::size_t i = 0; i < config.quotas.size(); ++i)
        records.push_back({config.quotas[i], i < config.quota_sources.size() ? config.quota_sources[i] : ""});
    return records;
}

// The first clash between the file quotas and the API's: the same name, or
// the same key kind with an equally specific path.
std::optional<std::string> first_clash(const std::vector<QuotaRecord>& file_quotas,
                                       const std::vector<QuotaRecord>& api_quotas) {
    for (const QuotaRecord& api : api_quotas) {
        if (const QuotaRecord* file = find_record(file_quotas, api.quota.name))
            return "quota " + in_quotes(api.quota.name) + " in " + file->defined_in +
                   " has the name of a quota made through the admin API; delete that one first (sluicectl quota "
                   "delete " +
                   api.quota.name + ") or rename this one";
    }
    std::vector<Quota> all;
    for (const auto* records : {&file_quotas, &api_quotas})
        for (const QuotaRecord& r : *records) all.push_back(r.quota);
    const std::vector<std::pair<std::size_t, std::size_t>> conflicts = find_conflicts(all);
    if (conflicts.empty()) return std::nullopt;
    const auto [earlier, later] = conflicts.front();
    return "quota " + in_quotes(all[later].name) + " conflicts with quota " + in_quotes(all[earlier].name) +
           ": same key and equally specific path";
}

WallTime wall_time(Nanos at, Nanos now) {
    return std::chrono::time_point_cast<WallTime::duration>(std::chrono::system_clock::now() +
                                                            std::chrono::nanoseconds(at - now));
}

}  // namespace

ControlPlane::ControlPlane(Limiter& limiter, BlockList& blocks, XdpController* xdp, const Clock& clock)
    : limiter_(limiter),
      blocks_(blocks),
      xdp_(xdp),
      clock_(clock) {}

void ControlPlane::start(const Config& config) {
    const std::lock_guard lock(mutex_);
    state_dir_ = config.state_dir;
    redis_store_ = config.store.has_value();
    header_style_ = config.headers;
    path_matching_ = config.path_matching;
    file_quotas_ = file_records(config);
    if (state_dir_) {
        std::error_code ec;
        fs::create_directories(*state_dir_, ec);
        if (ec) throw std::runtime_error("state_dir " + state_dir_->string() + ": " + ec.message());
        SavedQuotas saved = load_saved_quotas(*state_dir_ / kQuotasFile);
        for (Quota& quota : saved.quotas) api_quotas_.push_back({std::move(quota), std::string(kDefinedByApi)});
        sort_by_name(api_quotas_);
        settings_ = std::move(saved.settings);
        if (const std::optional<std::string> why = first_clash(file_quotas_, api_quotas_))
            throw std::runtime_error(*why);
        for (const BlockEntry& entry : load_blocks(*state_dir_, ClockReading::now(clock_)))
            blocks_.client_blocked(entry.client, entry.until, entry.origin);
        saved_blocks_version_ = blocks_.version();
    }
    apply_policy();
}

std::vector<std::string> ControlPlane::reload(const Config& config) {
    const std::lock_guard lock(mutex_);
    std::vector<QuotaRecord> file_quotas = file_records(config);
    if (const std::optional<std::string> why = first_clash(file_quotas, api_quotas_)) {
        ++counters_.failed_reloads;
        return {*why};
    }
    file_quotas_ = std::move(file_quotas);
    header_style_ = config.headers;
    path_matching_ = config.path_matching;
    apply_policy();
    ++counters_.reloads;
    return {};
}

void ControlPlane::count_failed_reload() {
    const std::lock_guard lock(mutex_);
    ++counters_.failed_reloads;
}

Change ControlPlane::put_quota(Quota quota) {
    const std::string name = quota.name;
    const std::lock_guard lock(mutex_);
    if (const QuotaRecord* file = find_record(file_quotas_, quota.name))
        return {Change::Status::invalid, "quota " + in_quotes(quota.name) + " is defined in " + file->defined_in +
                                             ": change it there and reload (SIGHUP)"};
    if (redis_store_) {
        if (const std::string why = redis_span_error(LimitParams::from(quota)); !why.empty())
            return {Change::Status::invalid, "quota " + in_quotes(quota.name) + ": with the Redis store: " + why};
    }
    std::vector<QuotaRecord> api_quotas = api_quotas_;
    const auto at = std::lower_bound(api_quotas.begin(), api_quotas.end(), quota.name,
                                     [](const QuotaRecord& r, const std::string& name) { return r.quota.name < name; });
    if (at != api_quotas.end() && at->quota.name == quota.name)
        at->quota = std::move(quota);
    else
        api_quotas.insert(at, {std::move(quota), std::string(kDefinedByApi)});
    if (const std::optional<std::string> why = first_clash(file_quotas_, api_quotas))
        return {Change::Status::invalid, *why};
    if (fleet_) {
        if (Change written = fleet_->put_quota(*at_name(api_quotas, name)); !written.ok()) return written;
    }
    return apply_and_save(std::move(api_quotas), settings_);
}

Change ControlPlane::delete_quota(const std::string& name) {
    const std::lock_guard lock(mutex_);
    if (const QuotaRecord* file = find_record(file_quotas_, name))
        return {Change::Status::invalid, "quota " + in_quotes(name) + " is defined in " + file->defined_in +
                                             ": change it there and reload (SIGHUP)"};
    if (!find_record(api_quotas_, name)) return {};
    if (fleet_) {
        if (Change written = fleet_->delete_quota(name); !written.ok()) return written;
    }
    std::vector<QuotaRecord> api_quotas = api_quotas_;
    std::erase_if(api_quotas, [&](const QuotaRecord& r) { return r.quota.name == name; });
    return apply_and_save(std::move(api_quotas), settings_);
}

std::optional<QuotaRecord> ControlPlane::quota(const std::string& name) const {
    const std::lock_guard lock(mutex_);
    for (const auto* records : {&file_quotas_, &api_quotas_})
        if (const QuotaRecord* record = find_record(*records, name)) return *record;
    return std::nullopt;
}

std::vector<std::string> ControlPlane::quota_names() const {
    const std::lock_guard lock(mutex_);
    std::vector<std::string> names;
    for (const auto* records : {&file_quotas_, &api_quotas_})
        for (const QuotaRecord& r : *records) names.push_back(r.quota.name);
    std::sort(names.begin(), names.end());
    return names;
}

QuotaSettings ControlPlane::settings() const {
    const std::lock_guard lock(mutex_);
    return settings_;
}

Change ControlPlane::set_settings(QuotaSettings settings) {
    const std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < settings.exempt_paths.size(); ++i) {
        if (std::string why = exempt_path_error(settings.exempt_paths[i]); !why.empty())
            return {Change::Status::invalid, "rate_limit_exempt_paths[" + std::to_string(i) + "]: " + why};
    }
    if (fleet_) {
        if (Change written = fleet_->set_settings(settings); !written.ok()) return written;
    }
    return apply_and_save(api_quotas_, std::move(settings));
}

std::optional<Checked<QuotaUsageReport>> ControlPlane::usage(const std::string& name, std::string_view key) const {
    const std::optional<QuotaRecord> record = quota(name);
    if (!record) return std::nullopt;
    const KeyKind kind = record->quota.key.kind;
    std::string canonical(key);
    if (kind != KeyKind::global && key.empty()) return Checked<QuotaUsageReport>::failed("key: required");
    if (kind == KeyKind::client_ip) {
        const std::optional<IpAddress> ip = parse_ip(key);
        if (!ip)
            return Checked<QuotaUsageReport>::failed("key: " + in_quotes(std::string(key)) + " is not an IP address");
        canonical = ip->to_string();
    }
    const std::optional<Limiter::KeyUsage> usage = limiter_.usage(name, canonical);
    if (!usage) return std::nullopt;  // deleted in between
    return QuotaUsageReport{name, usage->usage.used, usage->quota->params.limit, usage->usage.remaining,
                            wall_time(usage->now + usage->usage.reset, usage->now)};
}

std::vector<BlockRecord> ControlPlane::blocks() const {
    const Nanos now = clock_.now();
    std::vector<BlockRecord> records;
    for (const BlockEntry& entry : blocks_.entries(now))
        records.push_back({entry.client.to_string(), wall_time(entry.until, now), entry.origin});
    if (xdp_) {
        // The program's own blocks; its HTTP and API entries mirror the list.
        for (const XdpBlock& block : xdp_->blocks())
            if (block.origin == "xdp") records.push_back({block.client, wall_time(block.until, now), block.origin});
    }
    std::sort(records.begin(), records.end(),
              [](const BlockRecord& a, const BlockRecord& b) { return a.client < b.client; });
    return records;
}

Change ControlPlane::block(std::string_view client, std::chrono::nanoseconds duration) {
    const std::optional<IpAddress> ip = parse_ip(client);
    if (!ip) return {Change::Status::invalid, in_quotes(std::string(client)) + " is not an IP address"};
    if (duration.count() <= 0) return {Change::Status::invalid, "duration: must be greater than 0"};
    if (!blocks_.add(*ip, clock_.now() + duration.count(), kDefinedByApi))
        return {Change::Status::invalid,
                "the block list is full (limits.max_blocks " + std::to_string(blocks_.max_entries()) + ")"};
    const std::lock_guard lock(mutex_);
    ++counters_.api_changes;
    return save_blocks();
}

Change ControlPlane::unblock(std::string_view client) {
    const std::optional<IpAddress> ip = parse_ip(client);
    if (!ip) return {Change::Status::invalid, in_quotes(std::string(client)) + " is not an IP address"};
    lift_block(*ip);
    const std::lock_guard lock(mutex_);
    ++counters_.api_changes;
    return save_blocks();
}

void ControlPlane::lift_block(const IpAddress& client) {
    blocks_.client_unblocked(client);  // XDP lifts the block of the client's whole IPv6 prefix
    if (xdp_ && !client.is_v4()) {
        // Other listed clients in that prefix get theirs back.
        for (const BlockEntry& entry : blocks_.entries(clock_.now()))
            if (!entry.client.is_v4()) xdp_->client_blocked(entry.client, entry.until, entry.origin);
    }
    limiter_.forgive(client.to_string());
}

void ControlPlane::tick() {
    blocks_.expire(clock_.now());
    const std::lock_guard lock(mutex_);
    if (blocks_.version() == saved_blocks_version_) return;
    const Change saved = save_blocks();
    if (!saved.ok()) {
        ++counters_.saves_failed;
        log(LogLevel::error, "%s", saved.message.c_str());
    }
}

void ControlPlane::set_fleet(QuotaFleet* fleet) {
    const std::lock_guard lock(mutex_);
    fleet_ = fleet;
}

void ControlPlane::apply_fleet_quota(const std::string& name, std::optional<Quota> quota) {
    const std::lock_guard lock(mutex_);
    std::vector<QuotaRecord> api_quotas = api_quotas_;
    std::erase_if(api_quotas, [&](const QuotaRecord& r) { return r.quota.name == name; });
    if (quota) api_quotas.push_back({std::move(*quota), std::string(kDefinedByApi)});
    sort_by_name(api_quotas);
    take_fleet_state(std::move(api_quotas), settings_);
}

void ControlPlane::apply_fleet_settings(QuotaSettings settings) {
    const std::lock_guard lock(mutex_);
    take_fleet_state(api_quotas_, std::move(settings));
}

void ControlPlane::replace_fleet_quotas(std::vector<Quota> quotas, QuotaSettings settings) {
    std::vector<QuotaRecord> api_quotas;
    for (Quota& quota : quotas) api_quotas.push_back({std::move(quota), std::string(kDefinedByApi)});
    sort_by_name(api_quotas);
    const std::lock_guard lock(mutex_);
    take_fleet_state(std::move(api_quotas), std::move(settings));
}

std::vector<Quota> ControlPlane::api_quotas() const {
    const std::lock_guard lock(mutex_);
    std::vector<Quota> quotas;
    for (const QuotaRecord& record : api_quotas_) quotas.push_back(record.quota);
    return quotas;
}

std::vector<std::pair<std::string, std::string>> ControlPlane::file_quotas() const {
    const std::lock_guard lock(mutex_);
    std::vector<std::pair<std::string, std::string>> quotas;
    for (const QuotaRecord& record : file_quotas_) quotas.emplace_back(record.quota.name, record.defined_in);
    return quotas;
}

void ControlPlane::take_fleet_state(std::vector<QuotaRecord> api_quotas, QuotaSettings settings) {
    // A host whose file defined the name while the fleet's writer did not see
    // it (it was away) keeps its own quota; the operator resolves it.
    std::vector<QuotaRecord> kept;
    for (QuotaRecord& record : api_quotas) {
        std::vector<QuotaRecord> candidate = kept;
        candidate.push_back(record);
        if (const std::optional<std::string> why = first_clash(file_quotas_, candidate)) {
            log(LogLevel::error, "fleet: quota \"%s\" made through the admin API is not in force here: %s",
                record.quota.name.c_str(), why->c_str());
            continue;
        }
        kept.push_back(std::move(record));
    }
    if (same_quotas(kept, api_quotas_) && settings == settings_) return;
    if (state_dir_) {
        // state_dir holds the last state synced, for a start while Redis is down.
        try {
            write_file_atomically(*state_dir_ / kQuotasFile, saved_quotas_text(kept, settings));
        } catch (const std::exception& e) {
            log(LogLevel::error, "fleet: %s; the fleet's quotas are in force but not saved", e.what());
        }
    }
    api_quotas_ = std::move(kept);
    settings_ = std::move(settings);
    apply_policy();
}

ControlPlaneCounters ControlPlane::counters() const {
    const std::lock_guard lock(mutex_);
    return counters_;
}

Change ControlPlane::apply_and_save(std::vector<QuotaRecord> api_quotas, QuotaSettings settings) {
    if (state_dir_) {
        try {
            write_file_atomically(*state_dir_ / kQuotasFile, saved_quotas_text(api_quotas, settings));
        } catch (const std::exception& e) {
            return {Change::Status::failed, std::string(e.what()) + "; the change is not applied"};
        }
    }
    api_quotas_ = std::move(api_quotas);
    settings_ = std::move(settings);
    ++counters_.api_changes;
    apply_policy();
    return {};
}

void ControlPlane::apply_policy() {
    std::vector<Quota> quotas;
    for (const auto* records : {&file_quotas_, &api_quotas_})
        for (const QuotaRecord& r : *records) quotas.push_back(r.quota);
    limiter_.set_policy(std::make_shared<const Policy>(std::move(quotas), header_style_, settings_,
                                                       limiter_.policy().get(), path_matching_));
}

Change ControlPlane::save_blocks() {
    if (!state_dir_) return {};
    const std::uint64_t version = blocks_.version();
    try {
        const ClockReading now = ClockReading::now(clock_);
        sluice::save_blocks(*state_dir_, blocks_.entries(now.steady), now);
    } catch (const std::exception& e) {
        return {Change::Status::failed, std::string(e.what()) + "; the block list is in force but lost on restart"};
    }
    saved_blocks_version_ = version;
    return {};
}

}  // namespace sluice
