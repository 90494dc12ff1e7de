// Durations (common/duration.h) and their exact spelling
// (config/quota_to_json.h's exact_duration, what sluiced persists).
// Properties:
// - parse_duration either succeeds with no error or fails with a reason;
// - what it accepts is written back (duration_text, exact_duration) as text
//   that parses to the same nanoseconds: parse -> format -> parse;
// - the same for any count of nanoseconds taken from the input, and for a
//   JSON number of seconds (duration_from_seconds);
// - a duration is its sign's mirror: "-<text>" parses to minus the value.
#include "common/duration.h"
#include "config/quota_to_json.h"

#include "support/fuzz_check.h"
#include "support/input_split.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

namespace {

using sluice::fuzz::check;
using std::chrono::nanoseconds;

void check_written_back(nanoseconds value, std::string_view origin) {
    // Every parse result is within +-(2^63 - 1): the one count no text
    // reaches is the lowest int64.
    if (value.count() == std::numeric_limits<std::int64_t>::min()) return;
    for (const std::string& text : {sluice::duration_text(value), sluice::exact_duration(value)}) {
        const sluice::Checked<std::chrono::nanoseconds> again = sluice::parse_duration(text);
        check(again.ok(), "a duration's own text does not parse",
              std::string(origin) + " -> " + text + ": " + again.error());
        check(again.value() == value, "a duration's text parses to another duration",
              std::string(origin) + " -> " + std::to_string(value.count()) + "ns -> " + text + " -> " +
                  std::to_string(again.value().count()) + "ns");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sluice::fuzz::InputReader reader(data, size);
    const auto count = static_cast<std::int64_t>(reader.u64());
    double seconds;
    const std::uint64_t seconds_bits = reader.u64();
    std::memcpy(&seconds, &seconds_bits, sizeof seconds);
    const std::string_view text = reader.rest();

    const sluice::Checked<std::chrono::nanoseconds> parsed = sluice::parse_duration(text);
    if (!parsed.ok()) {
        check(parsed.error().find("duration") != std::string::npos || parsed.error().find("range") != std::string::npos,
              "a refusal that does not say why", parsed.error());
    } else {
        check_written_back(parsed.value(), text);
        if (!text.starts_with('-') && !text.starts_with('+')) {
            const sluice::Checked<std::chrono::nanoseconds> negated = sluice::parse_duration("-" + std::string(text));
            check(negated.ok() && negated.value() == -parsed.value(), "\"-<text>\" is not minus <text>", text);
        }
    }

    check_written_back(nanoseconds(count), "count " + std::to_string(count));

    const sluice::Checked<std::chrono::nanoseconds> from_seconds = sluice::duration_from_seconds(seconds);
    if (from_seconds.ok()) {
        check_written_back(from_seconds.value(), "seconds " + std::to_string(seconds));
    } else {
        check(from_seconds.error().find("out of range") != std::string::npos, "a refusal that does not say why",
              from_seconds.error());
    }
    return 0;
}
