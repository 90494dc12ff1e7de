#include "state/block_state.h"

#include "config/quota_json.h"
#include "state/state_file.h"

#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr Nanos kNever = std::numeric_limits<Nanos>::max();

Nanos unix_ns(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// base + delta, held at the ends of Nanos: a block of a hundred years must
// not wrap into the past.
Nanos shifted(Nanos base, Nanos delta) {
    Nanos sum = 0;
    if (!__builtin_add_overflow(base, delta, &sum)) return sum;
    return delta > 0 ? kNever : std::numeric_limits<Nanos>::min();
}

std::optional<BlockEntry> parse_entry(const JsonField& object, const ClockReading& now) {
    const std::size_t errors_before = object.error_count();
    BlockEntry entry;
    bool has_client = false, has_expiry = false, has_origin = false;
    object.for_each_member([&](const std::string& name, const JsonField& value) {
        if (name == "client") {
            has_client = true;
            const std::optional<std::string> text = value.string();
            const std::optional<IpAddress> address = text ? parse_ip(*text) : std::nullopt;
            if (address)
                entry.client = *address;
            else if (text)
                value.error(value.value().dump() + " is not an IP address");
        } else if (name == "expires_unix_ns") {
            has_expiry = true;
            if (const std::optional<std::int64_t> expires = value.integer(0))
                entry.until = shifted(now.steady, shifted(*expires, -unix_ns(now.wall)));
        } else if (name == "origin") {
            has_origin = true;
            if (std::optional<std::string> origin = value.string()) {
                if (origin->empty()) value.error("must not be empty");
                entry.origin = std::move(*origin);
            }
        } else {
            return false;
        }
        return true;
    });
    if (object.value().is_object()) {
        if (!has_client) object.missing("client");
        if (!has_expiry) object.missing("expires_unix_ns");
        if (!has_origin) object.missing("origin");
    }
    if (object.error_count() != errors_before) return std::nullopt;
    return entry;
}

}  // namespace

ClockReading ClockReading::now(const Clock& steady) { return {steady.now(), std::chrono::system_clock::now()}; }

fs::path blocks_file(const fs::path& state_dir) { return state_dir / "blocks.json"; }

void save_blocks(const fs::path& state_dir, const std::vector<BlockEntry>& entries, const ClockReading& now) {
    Json blocks = Json::array();
    for (const BlockEntry& entry : entries) {
        blocks.push_back({{"client", entry.client.to_string()},
                          {"expires_unix_ns", shifted(unix_ns(now.wall), shifted(entry.until, -now.steady))},
                          {"origin", entry.origin}});
    }
    write_file_atomically(blocks_file(state_dir), Json{{"blocks", std::move(blocks)}}.dump(2) + "\n");
}

std::vector<BlockEntry> load_blocks(const fs::path& state_dir, const ClockReading& now) {
    const fs::path file = blocks_file(state_dir);
    const std::optional<Json> document = read_state_json(file);
    if (!document) return {};

    std::vector<ConfigError> errors;
    std::vector<BlockEntry> entries;
    const JsonField root(*document, "", errors);
    bool has_blocks = false;
    const bool is_object = root.for_each_member([&](const std::string& name, const JsonField& value) {
        if (name != "blocks") return false;
        has_blocks = true;
        value.for_each_element([&](const JsonField& element) {
            std::optional<BlockEntry> entry = parse_entry(element, now);
            if (entry && entry->until > now.steady) entries.push_back(std::move(*entry));
        });
        return true;
    });
    if (is_object && !has_blocks) root.missing("blocks");
    throw_first_error(file, std::move(errors));
    return entries;
}

}  // namespace sluice
