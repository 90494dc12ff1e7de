#include "redis/redis_url.h"

#include "common/cidr.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace sluice {

namespace {

constexpr std::string_view kScheme = "redis://";
constexpr int kDatabases = 16;  // Redis's default `databases`
constexpr std::size_t kNone = std::string_view::npos;

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Where a password would be in `text`: from the first ":" after the scheme
// to the last "@" (both excluded); [kNone, kNone) when there is none.
std::pair<std::size_t, std::size_t> password_span(std::string_view text) {
    const std::size_t scheme = text.find("://");
    const std::size_t start = scheme == kNone ? 0 : scheme + 3;
    const std::size_t at = text.rfind('@');
    if (at == kNone || at < start) return {kNone, kNone};
    const std::size_t colon = text.find(':', start);
    if (colon >= at) return {kNone, kNone};
    return {colon + 1, at};
}

// `text` quoted as every message shows it: with its password, if any, as
// "***", whatever else is wrong with it.
std::string shown(std::string_view text) {
    const auto [begin, end] = password_span(text);
    if (begin == kNone) return quoted(text);
    return quoted(std::string(text.substr(0, begin)) + "***" + std::string(text.substr(end)));
}

bool has_space_or_control(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

bool is_host_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

std::optional<int> hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return std::nullopt;
}

std::optional<std::string> percent_decoded(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        const auto high = i + 2 < text.size() ? hex_digit(text[i + 1]) : std::nullopt;
        const auto low = i + 2 < text.size() ? hex_digit(text[i + 2]) : std::nullopt;
        if (!high || !low) return std::nullopt;
        out += static_cast<char>(*high * 16 + *low);
        i += 2;
    }
    return out;
}

// "host[:port]" or "[v6][:port]" of the input `whole` (already shown()).
Checked<RedisEndpoint> parse_host_port(std::string_view text, const std::string& whole) {
    using Result = Checked<RedisEndpoint>;
    std::string_view host = text;
    std::optional<std::string_view> port;
    if (text.starts_with('[')) {
        const std::size_t close = text.find(']');
        if (close == kNone) return Result::failed(whole + " has an unclosed \"[\"");
        host = text.substr(1, close - 1);
        if (host.find(':') == kNone || !parse_ip(host))
            return Result::failed(whole + " has " + quoted(host) + " in brackets, which is not an IPv6 address");
        const std::string_view after = text.substr(close + 1);
        if (after.starts_with(':'))
            port = after.substr(1);
        else if (!after.empty())
            return Result::failed(whole + " has " + quoted(after) +
                                  " after the IPv6 address: expected \":port\" or nothing");
    } else {
        if (const std::size_t colon = text.find(':'); colon != kNone) {
            if (text.find(':', colon + 1) != kNone)
                return Result::failed(whole + " has an IPv6 address without brackets: write it as [address]:port");
            host = text.substr(0, colon);
            port = text.substr(colon + 1);
        }
        if (host.empty()) return Result::failed(whole + " has no host");
        if (!std::all_of(host.begin(), host.end(), is_host_name_char))
            return Result::failed(whole + " has " + quoted(host) + " as host: expected a host name or an IP address");
    }

    RedisEndpoint endpoint;
    endpoint.host = std::string(host);
    if (port) {
        if (port->empty()) return Result::failed(whole + " has an empty port");
        unsigned long number = 0;
        const auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), number);
        if (end != port->data() + port->size() || (ec != std::errc{} && ec != std::errc::result_out_of_range))
            return Result::failed(whole + " has a port that is not a number");
        if (ec == std::errc::result_out_of_range || number == 0 || number > 65535)
            return Result::failed(whole + " has a port out of range (1-65535)");
        endpoint.port = static_cast<std::uint16_t>(number);
    }
    return endpoint;
}

}  // namespace

Checked<RedisEndpoint> parse_redis_url(std::string_view url) {
    using Result = Checked<RedisEndpoint>;
    const std::string whole = shown(url);
    if (url.starts_with("rediss://"))
        return Result::failed(whole + " is not supported: TLS to Redis is not available yet; use redis://");
    if (!url.starts_with(kScheme))
        return Result::failed(whole + " is not a Redis URL: expected redis://[user@]host[:port][/db]");
    if (password_span(url).first != kNone)
        return Result::failed(whole + " has a password in it: put the password in password_file, never in the URL");
    if (has_space_or_control(url)) return Result::failed(whole + " has a space or control character in it");

    std::string_view rest = url.substr(kScheme.size());
    if (const std::size_t query = rest.find('?'); query != kNone)
        return Result::failed(whole + " has a query (" + quoted(rest.substr(query)) +
                              "): options in the URL are not supported");
    const std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    const std::string_view path = slash == kNone ? std::string_view() : rest.substr(slash + 1);

    std::string user;
    if (const std::size_t at = authority.rfind('@'); at != kNone) {
        if (at == 0) return Result::failed(whole + " has no user before \"@\"");
        std::optional<std::string> decoded = percent_decoded(authority.substr(0, at));
        if (!decoded) return Result::failed(whole + " has a broken %-escape in the user");
        user = std::move(*decoded);
        authority.remove_prefix(at + 1);
    }

    Checked<RedisEndpoint> endpoint = parse_host_port(authority, whole);
    if (!endpoint.ok()) return endpoint;
    RedisEndpoint result = std::move(endpoint).value();
    result.user = std::move(user);
    if (!path.empty()) {
        int db = -1;
        const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
        if (ec != std::errc{} || end != path.data() + path.size() || db < 0 || db >= kDatabases)
            return Result::failed(whole + " has " + quoted(path) +
                                  " as database: the database must be a number from 0 to " +
                                  std::to_string(kDatabases - 1));
        result.db = db;
    }
    return result;
}

Checked<RedisEndpoint> parse_redis_seed(std::string_view seed) {
    using Result = Checked<RedisEndpoint>;
    const std::string whole = shown(seed);
    if (seed.find("://") != kNone)
        return Result::failed(whole + " is not a cluster seed: expected host:port, without a scheme");
    if (seed.find('@') != kNone)
        return Result::failed(whole + " is not a cluster seed: expected host:port, without a user");
    if (seed.find('/') != kNone)
        return Result::failed(whole +
                              " is not a cluster seed: expected host:port, without a database (a cluster has only "
                              "database 0)");
    if (has_space_or_control(seed)) return Result::failed(whole + " has a space or control character in it");
    return parse_host_port(seed, whole);
}

std::string describe(const RedisEndpoint& endpoint) {
    const bool v6 = endpoint.host.find(':') != std::string::npos;
    return (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
}

}  // namespace sluice
