// Reads a Prometheus text exposition (version 0.0.4) as a scraper would and
// lists what is wrong with it: names, escapes and values that do not parse,
// samples outside a declared family, a family declared twice or split,
// duplicate series, and histograms whose buckets are not cumulative or whose
// +Inf bucket is not _count. Also the naming conventions sluiced follows:
// counters end in _total. A histogram is expected to hold one series.
#pragma once

#include <charconv>
#include <cstdint>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace sluice::testing {

inline std::vector<std::string> exposition_problems(const std::string& text) {
    static const std::regex name_pattern("[a-zA-Z_:][a-zA-Z0-9_:]*");
    static const std::regex label_name_pattern("[a-zA-Z_][a-zA-Z0-9_]*");
    std::vector<std::string> problems;
    if (!text.empty() && text.back() != '\n') problems.push_back("the last line does not end in a newline");

    std::map<std::string, std::string> types;  // family -> type
    std::set<std::string> help_seen, series_seen, finished_families;
    std::string current;  // family of the previous line
    struct Histogram {
        double last_le = -1e300;
        std::uint64_t last_bucket = 0;
        std::int64_t inf_bucket = -1;
        std::int64_t count = -1;
    };
    std::map<std::string, Histogram> histograms;

    std::istringstream lines(text);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
        ++number;
        const std::string where = "line " + std::to_string(number) + " '" + line + "': ";
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            const bool help = line[2] == 'H';
            const std::string rest = line.substr(7);
            const std::string name = rest.substr(0, rest.find(' '));
            if (!std::regex_match(name, name_pattern)) problems.push_back(where + "bad metric name");
            if (rest.size() <= name.size() + 1) problems.push_back(where + "nothing after the name");
            const std::string value = rest.substr(std::min(rest.size(), name.size() + 1));
            if (help) {
                if (!help_seen.insert(name).second) problems.push_back(where + "second HELP for " + name);
                for (std::size_t i = 0; i < value.size(); ++i)
                    if (value[i] == '\\' && (i + 1 == value.size() || (value[i + 1] != '\\' && value[i + 1] != 'n')))
                        problems.push_back(where + "bad escape in HELP");
                    else if (value[i] == '\\')
                        ++i;
            } else {
                if (value != "counter" && value != "gauge" && value != "histogram" && value != "summary" &&
                    value != "untyped")
                    problems.push_back(where + "unknown type");
                if (types.contains(name)) problems.push_back(where + "second TYPE for " + name);
                if (value == "counter" && !name.ends_with("_total"))
                    problems.push_back(where + "counter without _total");
                types[name] = value;
            }
            if (current != name && !current.empty()) finished_families.insert(current);
            if (finished_families.contains(name)) problems.push_back(where + "family " + name + " is split");
            current = name;
            continue;
        }
        if (line.starts_with("#")) continue;
        if (line.empty()) {
            problems.push_back(where + "empty line");
            continue;
        }

        // name{label="value",...} value
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
        const std::string name = line.substr(0, i);
        if (!std::regex_match(name, name_pattern)) problems.push_back(where + "bad metric name");
        std::map<std::string, std::string> labels;
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                const std::size_t eq = line.find('=', i);
                if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
                    problems.push_back(where + "bad label");
                    break;
                }
                const std::string label = line.substr(i, eq - i);
                if (!std::regex_match(label, label_name_pattern)) problems.push_back(where + "bad label name " + label);
                std::string value;
                std::size_t j = eq + 2;
                for (; j < line.size() && line[j] != '"'; ++j) {
                    if (line[j] != '\\') {
                        value += line[j];
                        continue;
                    }
                    const char next = j + 1 < line.size() ? line[++j] : '?';
                    if (next == '\\' || next == '"')
                        value += next;
                    else if (next == 'n')
                        value += '\n';
                    else
                        problems.push_back(where + "bad escape in label value");
                }
                if (j >= line.size()) {
                    problems.push_back(where + "unterminated label value");
                    break;
                }
                if (!labels.emplace(label, value).second) problems.push_back(where + "label " + label + " twice");
                i = j + 1;
                if (i < line.size() && line[i] == ',') ++i;
            }
            ++i;  // past '}'
        }
        if (i >= line.size() || line[i] != ' ') {
            problems.push_back(where + "no space before the value");
            continue;
        }
        const std::string value_text = line.substr(i + 1);
        double value = 0;
        if (value_text == "+Inf")
            value = 1e300;
        else if (value_text != "-Inf" && value_text != "NaN") {
            const auto [end, error] = std::from_chars(value_text.data(), value_text.data() + value_text.size(), value);
            if (error != std::errc{} || end != value_text.data() + value_text.size())
                problems.push_back(where + "value does not parse");
        }

        std::string family = name;
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            const std::string base = name.substr(0, name.size() - std::min(name.size(), std::string(suffix).size()));
            if (name.ends_with(suffix) && types.contains(base) && types[base] == "histogram") family = base;
        }
        if (!types.contains(family)) {
            problems.push_back(where + "no TYPE declared for " + family);
            continue;
        }
        if (family != current) problems.push_back(where + "sample of " + family + " outside its family");
        std::string series = name;
        for (const auto& [l, v] : labels) series += "|" + l + "=" + v;
        if (!series_seen.insert(series).second) problems.push_back(where + "duplicate series");

        if (types[family] != "histogram") {
            if (family != name) problems.push_back(where + "suffixed sample in a " + types[family]);
            continue;
        }
        Histogram& h = histograms[family];
        if (name.ends_with("_bucket")) {
            if (!labels.contains("le")) {
                problems.push_back(where + "bucket without le");
                continue;
            }
            double le = 0;
            const std::string& le_text = labels["le"];
            if (le_text == "+Inf")
                le = 1e300;
            else
                std::from_chars(le_text.data(), le_text.data() + le_text.size(), le);
            const auto bucket = static_cast<std::uint64_t>(value);
            if (le <= h.last_le) problems.push_back(where + "le not ascending");
            if (bucket < h.last_bucket) problems.push_back(where + "buckets not cumulative");
            h.last_le = le;
            h.last_bucket = bucket;
            if (le_text == "+Inf") h.inf_bucket = static_cast<std::int64_t>(bucket);
        } else if (name.ends_with("_count")) {
            h.count = static_cast<std::int64_t>(value);
        }
    }
    for (const auto& [name, h] : histograms) {
        if (h.inf_bucket < 0) problems.push_back(name + ": no +Inf bucket");
        if (h.count < 0) problems.push_back(name + ": no _count");
        if (h.inf_bucket != h.count) problems.push_back(name + ": +Inf bucket is not _count");
    }
    return problems;
}

}  // namespace sluice::testing
