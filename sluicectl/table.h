// Aligned text tables for people: a heading row, then the rows; columns two
// spaces apart, each as wide as its widest cell (in characters, not bytes),
// no trailing spaces.
#pragma once

#include <string>
#include <vector>

namespace sluice::ctl {

class Table {
public:
    explicit Table(std::vector<std::string> headings);

    // Throws std::invalid_argument when the row has another number of cells
    // than there are headings.
    void add_row(std::vector<std::string> cells);

    // One line per row, each ending in '\n'.
    std::string render() const;

private:
    std::vector<std::vector<std::string>> rows_;  // the headings first
};

}  // namespace sluice::ctl
