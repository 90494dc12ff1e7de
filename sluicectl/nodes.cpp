#include "sluicectl/nodes.h"

#include "sluicectl/format.h"
#include "sluicectl/table.h"

namespace sluice::ctl {

namespace {

using Json = nlohmann::ordered_json;

// A list in one cell, comma-separated (a space would read as a column
// break); "-" when it is empty or absent.
std::string list_cell(const Json& items, std::string (*item_text)(const Json&)) {
    if (!items.is_array() || items.empty()) return "-";
    std::string cell;
    for (const Json& item : items) cell += (cell.empty() ? "" : ",") + item_text(item);
    return cell;
}

std::string text_of(const Json& item) { return format_cell(item); }

// {"interface": "eth0", "mode": "native"} -> "eth0:native"
std::string interface_text(const Json& item) {
    return format_cell(member(item, "interface")) + ":" + format_cell(member(item, "mode"));
}

}  // namespace

std::string render_nodes(const Json& data) {
    const Json sync = member(data, "sync");
    std::string text = "sync: " + format_cell(member(sync, "state")) + " (since " + format_cell(member(sync, "since")) +
                       ", applied change " + format_cell(member(sync, "applied_seq")) + ", pending " +
                       format_cell(member(sync, "pending")) + ")\n";
    const Json nodes = member(data, "nodes");
    if (!nodes.is_array() || nodes.empty()) return text + "no live nodes\n";
    Table table({"NAME", "VERSION", "SYNC", "LAG", "SEEN", "ADDRESSES", "QUOTAS", "XDP"});
    for (const Json& node : nodes) {
        table.add_row({format_cell(member(node, "name")), format_cell(member(node, "version")),
                       format_cell(member(node, "sync")), format_cell(member(node, "lag")),
                       format_cell(member(node, "seen")), list_cell(member(node, "addresses"), text_of),
                       list_cell(member(node, "quotas"), text_of), list_cell(member(node, "xdp"), interface_text)});
    }
    return text + table.render();
}

}  // namespace sluice::ctl
