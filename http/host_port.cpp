#include "http/host_port.h"

#include "common/cidr.h"

#include <charconv>

namespace sluice {

std::string host_port(const ListenAddress& address) {
    const bool v6 = address.host.find(':') != std::string::npos;
    return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

std::optional<ListenAddress> parse_host_port(std::string_view text, std::optional<std::uint16_t> default_port) {
    std::string_view host = text;
    std::optional<std::string_view> port;
    if (text.starts_with('[')) {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        const std::string_view rest = text.substr(close + 1);
        if (rest.starts_with(':'))
            port = rest.substr(1);
        else if (!rest.empty())
            return std::nullopt;
        if (host.find(':') == std::string_view::npos || !parse_ip(host)) return std::nullopt;
    } else if (const std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
    }
    if (host.empty()) return std::nullopt;

    ListenAddress address{std::string(host), default_port.value_or(0)};
    if (port) {
        unsigned number = 0;
        const auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), number);
        if (port->empty() || ec != std::errc{} || end != port->data() + port->size() || number == 0 || number > 65535)
            return std::nullopt;
        address.port = static_cast<std::uint16_t>(number);
    } else if (!default_port) {
        return std::nullopt;
    }
    return address;
}

}  // namespace sluice
