#include "sluicectl/table.h"

#include <algorithm>
#include <stdexcept>

namespace sluice::ctl {

namespace {

// UTF-8 continuation bytes do not start a character.
std::size_t display_width(const std::string& text) {
    return static_cast<std::size_t>(
        std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

Table::Table(std::vector<std::string> headings) { rows_.push_back(std::move(headings)); }

void Table::add_row(std::vector<std::string> cells) {
    if (cells.size() != rows_.front().size()) {
        throw std::invalid_argument("a table row has " + std::to_string(cells.size()) + " cells for " +
                                    std::to_string(rows_.front().size()) + " columns");
    }
    rows_.push_back(std::move(cells));
}

std::string Table::render() const {
    std::vector<std::size_t> widths(rows_.front().size(), 0);
    for (const auto& row : rows_) {
        for (std::size_t column = 0; column < row.size(); ++column)
            widths[column] = std::max(widths[column], display_width(row[column]));
    }
    std::string text;
    for (const auto& row : rows_) {
        std::string line;
        for (std::size_t column = 0; column < row.size(); ++column) {
            line += row[column];
            if (column + 1 < row.size()) line.append(widths[column] - display_width(row[column]) + 2, ' ');
        }
        line.erase(line.find_last_not_of(' ') + 1);  // an empty last cell leaves no padding either
        text += line + '\n';
    }
    return text;
}

}  // namespace sluice::ctl
