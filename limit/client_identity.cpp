#include "limit/client_identity.h"

#include <algorithm>
#include <cctype>

namespace sluice {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Proxies write "1.2.3.4", "1.2.3.4:5678", "2001:db8::1" or "[2001:db8::1]:5678".
std::optional<IpAddress> parse_forwarded(std::string_view entry) {
    if (auto ip = parse_ip(entry)) return ip;
    if (entry.starts_with('[')) {
        const std::size_t close = entry.find(']');
        return close == std::string_view::npos ? std::nullopt : parse_ip(entry.substr(1, close - 1));
    }
    const std::size_t colon = entry.find(':');
    if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos)
        return parse_ip(entry.substr(0, colon));
    return std::nullopt;
}

}  // namespace

bool is_trusted_proxy(const IpAddress& ip, const std::vector<Cidr>& proxies) {
    return std::any_of(proxies.begin(), proxies.end(), [&](const Cidr& c) { return c.contains(ip); });
}

std::string resolve_client_ip(const IpAddress& peer, std::string_view forwarded_for,
                              const std::vector<Cidr>& trusted_proxies) {
    if (!is_trusted_proxy(peer, trusted_proxies)) return peer.to_string();
    IpAddress client = peer;
    // Right to left: each hop was appended by the one after it; the first hop
    // not run by us is the client.
    while (!forwarded_for.empty()) {
        const std::size_t comma = forwarded_for.rfind(',');
        const std::string_view entry =
            trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
        forwarded_for = comma == std::string_view::npos ? std::string_view{} : forwarded_for.substr(0, comma);
        if (entry.empty()) continue;
        const std::optional<IpAddress> ip = parse_forwarded(entry);
        if (!ip) return std::string(entry);
        client = *ip;
        if (!is_trusted_proxy(client, trusted_proxies)) break;
    }
    return client.to_string();
}

std::string_view bearer_token(std::string_view authorization) {
    authorization = trim(authorization);
    constexpr std::string_view scheme = "bearer ";
    if (authorization.size() <= scheme.size()) return {};
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return {};
    return trim(authorization.substr(scheme.size()));
}

}  // namespace sluice
