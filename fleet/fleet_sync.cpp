#include "fleet/fleet_sync.h"

#include "common/log.h"
#include "config/quota_json.h"
#include "config/quota_settings_json.h"
#include "config/quota_to_json.h"
#include "fleet/fleet_node_json.h"
#include "xdp/controller.h"

#include <algorithm>
#include <set>

namespace sluice {
namespace {

using namespace std::chrono_literals;

constexpr auto kStreamWait = 500ms;      // a read of the stream returns at least this often (stop, reconcile)
constexpr auto kRetryAfter = 250ms;      // after Redis did not answer
constexpr auto kReconcileEvery = 60s;    // a full snapshot, whatever the stream said
constexpr auto kXdpBlocksEvery = 250ms;  // the XDP program's own blocks are picked up this often

std::optional<IpAddress> client_address(const std::string& client) {
    // The XDP side names IPv6 blocks by their prefix ("2001:db8::/64").
    return parse_ip(std::string_view(client).substr(0, client.find('/')));
}

std::optional<Json> parse_fleet_json(const std::string& json, const std::string& what) {
    try {
        return Json::parse(json);
    } catch (const Json::exception& e) {
        log(LogLevel::error, "fleet: %s from Redis is not JSON (%s); ignored", what.c_str(),
            json_error_detail(e.what()).c_str());
        return std::nullopt;
    }
}

// A quota the fleet holds, or nullopt (logged) when this host cannot read it.
std::optional<Quota> parse_fleet_quota(const std::string& name, const std::string& json) {
    const std::string what = "quota \"" + name + "\"";
    const std::optional<Json> value = parse_fleet_json(json, what);
    if (!value) return std::nullopt;
    std::vector<ConfigError> errors;
    Quota quota = parse_quota(JsonField(*value, "", errors));
    if (errors.empty() && quota.name == name) return quota;
    log(LogLevel::error, "fleet: %s from Redis is not valid here: %s; ignored", what.c_str(),
        errors.empty() ? "its name differs" : to_string(errors.front()).c_str());
    return std::nullopt;
}

std::optional<QuotaSettings> parse_fleet_settings(const std::string& json) {
    const std::optional<Json> value = parse_fleet_json(json, "the quota settings");
    if (!value) return std::nullopt;
    std::vector<ConfigError> errors;
    QuotaSettings settings = parse_quota_settings(JsonField(*value, "", errors), QuotaSettings{});
    if (errors.empty()) return settings;
    log(LogLevel::error, "fleet: the quota settings from Redis are not valid here: %s; ignored",
        to_string(errors.front()).c_str());
    return std::nullopt;
}

std::string settings_json(const QuotaSettings& settings) { return quota_settings_to_json(settings).dump(); }

}  // namespace

FleetSync::FleetSync(const RedisStoreSettings& settings, FleetHost host, ControlPlane& control, BlockList& blocks,
                     FleetBlocks& fleet_blocks, XdpController* xdp, const Clock& clock)
    : settings_(settings),
      host_(std::move(host)),
      control_(control),
      blocks_(blocks),
      fleet_blocks_(fleet_blocks),
      xdp_(xdp),
      clock_(clock),
      writer_(settings) {
    status_.since = std::chrono::system_clock::now();
}

FleetSync::~FleetSync() { stop(); }

void FleetSync::start() {
    follower_ = std::thread([this] { follow(); });
    publisher_ = std::thread([this] { publish(); });
}

void FleetSync::stop() {
    if (!follower_.joinable()) return;
    {
        const std::lock_guard lock(stop_mutex_);
        stopping_ = true;
    }
    stop_.notify_all();
    follower_.join();
    publisher_.join();
    try {
        // The others would list this host until its heartbeat is old.
        FleetRedis(settings_).leave(host_.name);
    } catch (const std::exception&) {
        // Gone from the list within kFleetNodeLifetime anyway.
    }
}

bool FleetSync::sleep(std::chrono::milliseconds duration) {
    std::unique_lock lock(stop_mutex_);
    return !stop_.wait_for(lock, duration, [&] { return stopping_.load(); });
}

// ---- the follower

void FleetSync::follow() {
    FleetRedis redis(settings_);
    std::string stream_id;
    bool snapshot_due = true;
    auto reconcile_at = std::chrono::steady_clock::now();
    while (!stopping_) {
        try {
            if (snapshot_due || std::chrono::steady_clock::now() >= reconcile_at) {
                read_snapshot(redis, stream_id);
                reconcile_at = std::chrono::steady_clock::now() + kReconcileEvery;
            }
            snapshot_due = !sync_once(redis, stream_id);
            reachable(true);
        } catch (const RedisNoAnswer& e) {
            reachable(false, e.what());
            snapshot_due = true;
            sleep(kRetryAfter);
        } catch (const std::exception& e) {
            log(LogLevel::error, "fleet: %s", e.what());
            reachable(false, e.what());
            snapshot_due = true;
            sleep(kRetryAfter);
        }
    }
}

void FleetSync::read_snapshot(FleetRedis& redis, std::string& stream_id) {
    FleetSnapshot snapshot = redis.snapshot();
    if (!snapshot.settings) {
        seed(redis);
        snapshot = redis.snapshot();
    }
    std::vector<Quota> fleet_quotas;
    for (const auto& [name, json] : snapshot.quotas)
        if (std::optional<Quota> quota = parse_fleet_quota(name, json)) fleet_quotas.push_back(std::move(*quota));
    const std::optional<QuotaSettings> settings =
        snapshot.settings ? parse_fleet_settings(*snapshot.settings) : std::nullopt;
    control_.replace_fleet_quotas(std::move(fleet_quotas), settings.value_or(control_.settings()));

    fleet_blocks_.fleet_holds_only(snapshot.blocks);
    std::set<std::string> held;
    for (const FleetBlock& block : snapshot.blocks) {
        held.insert(block.client);
        enter_block(block);
    }
    // Lifted (or expired) in the fleet while this host did not follow; what
    // this host still owes the fleet stays.
    for (const BlockEntry& entry : blocks_.entries(clock_.now())) {
        const std::string client = entry.client.to_string();
        if (!held.contains(client) && !fleet_blocks_.owed(client)) control_.lift_block(entry.client);
    }
    control_.tick();  // in state_dir at once, as an API block is
    stream_id = snapshot.stream_id;
    seen_seq(snapshot.seq);
    applied_seq(snapshot.seq);
    const std::lock_guard lock(status_mutex_);
    ++status_.snapshots;
}

// The first host of a fleet (or the first after Redis lost its data)
// brings its state; when another host was first, this changes nothing.
void FleetSync::seed(FleetRedis& redis) {
    std::map<std::string, std::string> quotas;
    for (const Quota& quota : control_.api_quotas()) quotas.emplace(quota.name, quota_to_json(quota).dump());
    std::vector<FleetBlock> blocks;
    for (const BlockEntry& entry : blocks_.entries(clock_.now()))
        blocks.push_back({entry.client.to_string(), fleet_blocks_.to_unix_ns(entry.until), entry.origin});
    if (redis.seed(settings_json(control_.settings()), quotas, blocks))
        log(LogLevel::notice, "fleet: this host's %zu API quotas, settings and %zu blocks are the fleet's first state",
            quotas.size(), blocks.size());
}

bool FleetSync::sync_once(FleetRedis& redis, std::string& stream_id) {
    const std::vector<FleetEvent> events = redis.read_events(stream_id, kStreamWait);
    for (const FleetEvent& event : events) {
        seen_seq(event.seq);
        const std::uint64_t applied = status().applied_seq;
        if (event.seq <= applied) {  // already in the snapshot
            stream_id = event.stream_id;
            continue;
        }
        // Changes were trimmed away unread, or a host seeded the fleet anew.
        if (event.seq != applied + 1 || event.kind == FleetEvent::Kind::reset) return false;
        apply(event);
        stream_id = event.stream_id;
        applied_seq(event.seq);
        const std::lock_guard lock(status_mutex_);
        ++status_.events_applied;
    }
    if (!events.empty()) control_.tick();  // in state_dir at once, as an API block is
    return true;
}

void FleetSync::apply(const FleetEvent& event) {
    switch (event.kind) {
    case FleetEvent::Kind::block: enter_block(event.block); break;
    case FleetEvent::Kind::unblock: lift_block(event.block.client); break;
    case FleetEvent::Kind::quota: apply_quota(event.name, event.json); break;
    case FleetEvent::Kind::settings: apply_settings(event.json); break;
    case FleetEvent::Kind::reset: break;
    }
}

void FleetSync::apply_quota(const std::string& name, const std::string& json) {
    if (json.empty()) return control_.apply_fleet_quota(name, std::nullopt);
    if (std::optional<Quota> quota = parse_fleet_quota(name, json)) control_.apply_fleet_quota(name, std::move(quota));
}

void FleetSync::apply_settings(const std::string& json) {
    if (std::optional<QuotaSettings> settings = parse_fleet_settings(json)) control_.apply_fleet_settings(*settings);
}

void FleetSync::enter_block(const FleetBlock& block) {
    const std::optional<IpAddress> client = client_address(block.client);
    if (!client) {
        log(LogLevel::error, "fleet: block of \"%s\" from Redis: not an IP address; ignored", block.client.c_str());
        return;
    }
    const Nanos until = fleet_blocks_.to_steady(block.expiry_unix_ns);
    if (until <= clock_.now()) return;
    fleet_blocks_.fleet_holds(block);  // first: entering it must not send it back
    blocks_.client_blocked(*client, until, block.origin);
}

void FleetSync::lift_block(const std::string& client) {
    fleet_blocks_.fleet_lifted(client);
    if (const std::optional<IpAddress> address = client_address(client)) control_.lift_block(*address);
}

// ---- the publisher

void FleetSync::publish() {
    using Steady = std::chrono::steady_clock;
    const auto ms = [](Steady::duration d) { return std::chrono::ceil<std::chrono::milliseconds>(d); };
    Steady::time_point heartbeat_at, xdp_at, retry_at;
    while (!stopping_) {
        const Steady::time_point now = Steady::now();
        if (xdp_ && now >= xdp_at) {
            pick_up_xdp_blocks();
            xdp_at = now + kXdpBlocksEvery;
        }
        try {
            // While Redis is away, nothing is tried before the retry.
            if (now >= retry_at) {
                deliver_owed();
                // A reload that changed this host's file quotas is told at
                // once (the other hosts' API checks their names against
                // them), and so is a change of its sync state.
                if (now >= heartbeat_at || control_.file_quotas() != sent_file_quotas_ ||
                    status().state != sent_state_) {
                    heartbeat_at = now + kFleetHeartbeat;
                    heartbeat();
                }
            }
        } catch (const RedisNoAnswer& e) {
            reachable(false, e.what());
            retry_at = now + kRetryAfter;
        } catch (const std::exception& e) {
            log(LogLevel::error, "fleet: %s", e.what());
        }
        // Until the next thing due; a change owed wakes it, but not while
        // Redis is away (it waits for the retry).
        const Steady::time_point due = std::min({heartbeat_at, xdp_ ? xdp_at : heartbeat_at, now + kStreamWait});
        if (Steady::now() < retry_at)
            sleep(ms(std::min(due, retry_at) - Steady::now()));
        else
            fleet_blocks_.wait(ms(due - Steady::now()));
    }
}

void FleetSync::deliver_owed() {
    std::vector<FleetPending> owed = fleet_blocks_.take();
    for (std::size_t i = 0; i < owed.size(); ++i) {
        try {
            const FleetPending& change = owed[i];
            seen_seq(change.block ? writer_.block(*change.block) : writer_.unblock(change.client));
        } catch (const RedisNoAnswer&) {
            fleet_blocks_.done({owed.begin(), owed.begin() + static_cast<std::ptrdiff_t>(i)});
            fleet_blocks_.give_back({owed.begin() + static_cast<std::ptrdiff_t>(i), owed.end()});
            throw;
        } catch (const std::exception& e) {
            log(LogLevel::error, "fleet: the block change of %s was refused by Redis: %s", owed[i].client.c_str(),
                e.what());
        }
    }
    fleet_blocks_.done(owed);
    const std::lock_guard lock(status_mutex_);
    status_.events_published += owed.size();
}

void FleetSync::pick_up_xdp_blocks() {
    for (const XdpBlock& block : xdp_->blocks()) {
        if (block.origin != "xdp") continue;
        // Entered like any block: it reaches the fleet through the list.
        if (const std::optional<IpAddress> client = client_address(block.client))
            blocks_.client_blocked(*client, block.until, block.origin);
    }
}

void FleetSync::heartbeat() {
    FleetNode self;
    self.name = host_.name;
    self.version = host_.version;
    self.addresses = host_.addresses;
    self.quotas = control_.quota_names();
    self.file_quotas = sent_file_quotas_ = control_.file_quotas();
    self.xdp = host_.xdp;
    const FleetSyncStatus now = status();
    self.sync = sent_state_ = now.state;
    self.lag = now.lag;
    const FleetHeartbeatReply beat = writer_.heartbeat(host_.name, node_record_json(self));
    std::vector<FleetNode> nodes;
    for (const FleetHeartbeatReply::Node& node : beat.nodes) {
        if (std::optional<FleetNode> parsed = parse_node_record(node.name, node.json, node.seen_unix_ms))
            nodes.push_back(std::move(*parsed));
    }
    std::sort(nodes.begin(), nodes.end(), [](const FleetNode& a, const FleetNode& b) { return a.name < b.name; });
    seen_seq(beat.seq);
    const std::lock_guard lock(status_mutex_);
    nodes_ = std::move(nodes);
}

// ---- quotas through the admin API

Change FleetSync::write(const std::function<std::uint64_t(FleetRedis&)>& change) {
    try {
        seen_seq(change(writer_));
        return {};
    } catch (const RedisNoAnswer& e) {
        reachable(false, e.what());
        return {Change::Status::unavailable, "the fleet's Redis does not answer (" + std::string(e.what()) +
                                                 "): quotas made through the API are shared by the fleet, so they "
                                                 "change only while it answers; the change is not applied"};
    } catch (const std::exception& e) {
        return {Change::Status::invalid, e.what()};
    }
}

Change FleetSync::put_quota(const Quota& quota) {
    return write(
        [&](FleetRedis& redis) { return redis.put_quota(quota.name, quota_to_json(quota).dump(), host_.name); });
}

Change FleetSync::delete_quota(const std::string& name) {
    return write([&](FleetRedis& redis) { return redis.put_quota(name, "", host_.name); });
}

Change FleetSync::set_settings(const QuotaSettings& settings) {
    return write([&](FleetRedis& redis) { return redis.set_settings(settings_json(settings)); });
}

// ---- status

FleetSyncStatus FleetSync::status() const {
    const std::lock_guard lock(status_mutex_);
    FleetSyncStatus status = status_;
    status.pending = fleet_blocks_.pending();
    status.pending_lost = fleet_blocks_.lost();
    return status;
}

std::vector<FleetNode> FleetSync::nodes() const {
    const std::lock_guard lock(status_mutex_);
    return nodes_;
}

void FleetSync::seen_seq(std::uint64_t seq) {
    const std::lock_guard lock(status_mutex_);
    latest_seq_ = std::max(latest_seq_, seq);
    update_state();
}

void FleetSync::applied_seq(std::uint64_t seq) {
    const std::lock_guard lock(status_mutex_);
    status_.applied_seq = seq;
    latest_seq_ = std::max(latest_seq_, seq);
    update_state();
}

void FleetSync::reachable(bool answered, const std::string& why) {
    const std::lock_guard lock(status_mutex_);
    if (answered != answered_) {
        if (answered)
            log(LogLevel::notice, "fleet: %s %s", ever_answered_ ? "in touch again with" : "following",
                describe(settings_).c_str());
        else
            log(LogLevel::warning, "fleet: %s does not answer (%s); blocks are enforced here and sent when it is back",
                describe(settings_).c_str(), why.c_str());
    }
    answered_ = answered;
    ever_answered_ = ever_answered_ || answered;
    update_state();
}

void FleetSync::update_state() {
    status_.lag = latest_seq_ > status_.applied_seq ? latest_seq_ - status_.applied_seq : 0;
    const FleetSyncState state = !answered_        ? FleetSyncState::disconnected
                                 : status_.lag > 0 ? FleetSyncState::lagging
                                                   : FleetSyncState::in_sync;
    if (state == status_.state) return;
    status_.state = state;
    status_.since = std::chrono::system_clock::now();
}

}  // namespace sluice
