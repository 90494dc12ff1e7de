// Reading the Prometheus text exposition format (version 0.0.4) that
// sluiced serves on /metrics: every sample with its name, labels and value.
// Comments (HELP, TYPE) and blank lines are skipped.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::ctl {

struct Sample {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;  // as written, values unescaped
    double value = 0;

    // The label's value; "" when the sample has no such label.
    std::string label(std::string_view label_name) const;
};

// Throws std::invalid_argument("line N: reason") for a line that is neither
// a sample nor a comment.
std::vector<Sample> parse_prometheus_text(std::string_view text);

}  // namespace sluice::ctl
