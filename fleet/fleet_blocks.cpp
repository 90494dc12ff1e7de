#include "fleet/fleet_blocks.h"

#include "common/log.h"
#include "state/block_state.h"
#include "state/state_file.h"

#include <stdexcept>

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr const char* kOutboxFile = "fleet-outbox.json";
constexpr int kOutboxVersion = 1;
constexpr std::int64_t kClockSlackNs = 10'000'000;

// fleet-outbox.json: {"version": 1, "pending": [{"client": "203.0.113.7",
// "expires_unix_ns": 1795434005000000000, "origin": "api"}, {"client": "198.51.100.2", "unblock": true}]}
std::string outbox_text(const std::map<std::string, FleetPending>& outbox) {
    Json pending = Json::array();
    for (const auto& [client, change] : outbox) {
        if (change.block)
            pending.push_back({{"client", client},
                               {"expires_unix_ns", change.block->expiry_unix_ns},
                               {"origin", change.block->origin}});
        else
            pending.push_back({{"client", client}, {"unblock", true}});
    }
    return Json{{"version", kOutboxVersion}, {"pending", std::move(pending)}}.dump(2) + "\n";
}

FleetPending parse_pending(const JsonField& object) {
    FleetPending change;
    FleetBlock block;
    bool unblock = false, has_expiry = false;
    object.for_each_member([&](const std::string& name, const JsonField& value) {
        if (name == "client") {
            const std::optional<std::string> text = value.string();
            if (text && !parse_ip(*text)) value.error(value.value().dump() + " is not an IP address");
            change.client = block.client = text.value_or("");
        } else if (name == "expires_unix_ns") {
            has_expiry = true;
            block.expiry_unix_ns = value.integer(0).value_or(0);
        } else if (name == "origin") {
            block.origin = value.string().value_or("");
        } else if (name == "unblock") {
            unblock = value.boolean().value_or(false);
        } else {
            return false;
        }
        return true;
    });
    if (object.value().is_object() && change.client.empty()) object.missing("client");
    if (object.value().is_object() && !unblock && !has_expiry) object.missing("expires_unix_ns");
    if (!unblock) change.block = std::move(block);
    return change;
}

std::map<std::string, FleetPending> load_outbox(const fs::path& file) {
    std::map<std::string, FleetPending> outbox;
    const std::optional<Json> root = read_state_json(file);
    if (!root) return outbox;
    std::vector<ConfigError> errors;
    JsonField(*root, "", errors).for_each_member([&](const std::string& name, const JsonField& value) {
        if (name == "version") {
            value.integer(kOutboxVersion, kOutboxVersion);
        } else if (name == "pending") {
            value.for_each_element([&](const JsonField& element) {
                FleetPending change = parse_pending(element);
                outbox[change.client] = std::move(change);
            });
        } else {
            return false;
        }
        return true;
    });
    throw_first_error(file, std::move(errors));
    return outbox;
}

}  // namespace

FleetBlocks::FleetBlocks(const Clock& clock, std::size_t max_pending, std::optional<fs::path> state_dir)
    : clock_(clock),
      max_pending_(max_pending),
      outbox_file_(state_dir ? std::optional<fs::path>(*state_dir / kOutboxFile) : std::nullopt) {
    if (outbox_file_) outbox_ = saved_ = load_outbox(*outbox_file_);
}

void FleetBlocks::start_publishing() {
    const std::lock_guard lock(mutex_);
    publishing_ = true;
}

std::int64_t FleetBlocks::to_unix_ns(Nanos until) const {
    const ClockReading now = ClockReading::now(clock_);
    return std::chrono::duration_cast<std::chrono::nanoseconds>(now.wall.time_since_epoch()).count() +
           (until - now.steady);
}

Nanos FleetBlocks::to_steady(std::int64_t unix_ns) const {
    const ClockReading now = ClockReading::now(clock_);
    return now.steady +
           (unix_ns - std::chrono::duration_cast<std::chrono::nanoseconds>(now.wall.time_since_epoch()).count());
}

void FleetBlocks::client_blocked(const IpAddress& client, Nanos until, std::string_view origin) {
    if (next_) next_->client_blocked(client, until, origin);
    FleetBlock block{client.to_string(), to_unix_ns(until), std::string(origin)};
    const std::lock_guard lock(mutex_);
    if (!publishing_) return;
    // The fleet's own block coming back through the list, or one no longer.
    // Each trip between the clocks may add a few microseconds: without the
    // slack, hosts would send one block back and forth for ever.
    if (const auto held = view_.find(block.client);
        held != view_.end() && held->second >= block.expiry_unix_ns - kClockSlackNs)
        return;
    owe({block.client, std::move(block)});
}

void FleetBlocks::client_unblocked(const IpAddress& client) {
    if (next_) next_->client_unblocked(client);
    const std::string text = client.to_string();
    const std::lock_guard lock(mutex_);
    if (!publishing_) return;
    // Lifted by the fleet (its view no longer has it), or never listed anywhere.
    if (!view_.contains(text) && !outbox_.contains(text) && !in_flight_.contains(text)) return;
    view_.erase(text);
    owe({text, std::nullopt});
}

void FleetBlocks::owe(FleetPending change) {
    if (!outbox_.contains(change.client) && outbox_.size() >= max_pending_) {
        ++lost_;
        return;
    }
    outbox_[change.client] = std::move(change);
    owed_.notify_one();
}

void FleetBlocks::fleet_holds(const FleetBlock& block) {
    const std::lock_guard lock(mutex_);
    std::int64_t& held = view_[block.client];
    held = std::max(held, block.expiry_unix_ns);
}

void FleetBlocks::fleet_lifted(const std::string& client) {
    const std::lock_guard lock(mutex_);
    view_.erase(client);
}

void FleetBlocks::fleet_holds_only(const std::vector<FleetBlock>& blocks) {
    const std::lock_guard lock(mutex_);
    view_.clear();
    for (const FleetBlock& block : blocks) view_[block.client] = block.expiry_unix_ns;
}

bool FleetBlocks::owed(const std::string& client) const {
    const std::lock_guard lock(mutex_);
    return outbox_.contains(client) || in_flight_.contains(client);
}

std::vector<FleetPending> FleetBlocks::take() {
    const std::lock_guard lock(mutex_);
    std::vector<FleetPending> changes;
    for (auto& [client, change] : outbox_) {
        changes.push_back(change);
        in_flight_[client] = std::move(change);
    }
    outbox_.clear();
    return changes;
}

void FleetBlocks::done(const std::vector<FleetPending>& delivered) {
    const std::lock_guard lock(mutex_);
    for (const FleetPending& change : delivered) {
        in_flight_.erase(change.client);
        if (change.block) {
            std::int64_t& held = view_[change.client];
            held = std::max(held, change.block->expiry_unix_ns);
        }
    }
    save();
}

void FleetBlocks::give_back(std::vector<FleetPending> undelivered) {
    const std::lock_guard lock(mutex_);
    for (FleetPending& change : undelivered) {
        in_flight_.erase(change.client);
        // A newer change of the same client came meanwhile: it stands.
        outbox_.try_emplace(change.client, std::move(change));
    }
    save();
}

void FleetBlocks::wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    owed_.wait_for(lock, timeout, [&] { return !outbox_.empty(); });
}

std::size_t FleetBlocks::pending() const {
    const std::lock_guard lock(mutex_);
    return outbox_.size() + in_flight_.size();
}

std::uint64_t FleetBlocks::lost() const {
    const std::lock_guard lock(mutex_);
    return lost_;
}

void FleetBlocks::save() {
    if (!outbox_file_ || outbox_ == saved_) return;
    try {
        write_file_atomically(*outbox_file_, outbox_text(outbox_));
        saved_ = outbox_;
    } catch (const std::exception& e) {
        log(LogLevel::error, "fleet: %s; the blocks owed to the fleet are kept in memory only", e.what());
    }
}

}  // namespace sluice
