// Who a request counts as (limit/client_identity.h and the limiter's keys):
// the client address behind trusted proxies (X-Forwarded-For), the bearer
// token of Authorization, an API key header. Properties:
// - an untrusted peer is the client, whatever it forwards;
// - behind a trusted peer the answer is the canonical text of an address, or
//   one whole entry of the header as written (the client's claim), trimmed;
// - what a client writes left of the address our proxy appended cannot
//   change the answer (no spoofing), nor can blanks around the commas;
// - bearer_token gives a trimmed part of the header, only under the Bearer
//   scheme (any case), and "Bearer <t>" gives t back;
// - the limiter counts the request under exactly these keys: the client
//   address, the token, the API key value (none when absent).
#include "limit/client_identity.h"
#include "limit/limiter.h"
#include "store/local_store.h"

#include "support/fuzz_check.h"
#include "support/input_split.h"
#include "support/stopped_clock.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using sluice::fuzz::check;

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool is_entry_of(std::string_view entry, std::string_view forwarded_for) {
    while (true) {
        const std::size_t comma = forwarded_for.find(',');
        if (trimmed(forwarded_for.substr(0, comma)) == entry) return true;
        if (comma == std::string_view::npos) return false;
        forwarded_for.remove_prefix(comma + 1);
    }
}

sluice::IpAddress address_from(sluice::fuzz::InputReader& reader) {
    sluice::IpAddress ip;
    const bool v4 = reader.byte() & 1;
    for (std::size_t i = v4 ? 12 : 0; i < 16; ++i) ip.bytes[i] = reader.byte();
    if (v4) {
        ip.bytes[10] = 0xff;
        ip.bytes[11] = 0xff;
    }
    return ip;
}

// Trusted proxies: a fixed pair, plus each CIDR of the input's list.
std::vector<sluice::Cidr> trusted_from(std::string_view list) {
    std::vector<sluice::Cidr> trusted = {*sluice::parse_cidr("10.0.0.0/8"), *sluice::parse_cidr("2001:db8::/32")};
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        if (auto cidr = sluice::parse_cidr(trimmed(list.substr(0, comma)))) trusted.push_back(*cidr);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
    return trusted;
}

void check_client_ip(const sluice::IpAddress& peer, std::string_view forwarded_for,
                     const std::vector<sluice::Cidr>& trusted, const sluice::IpAddress& outsider) {
    const std::string client = sluice::resolve_client_ip(peer, forwarded_for, trusted);
    const std::string detail =
        "peer " + peer.to_string() + "\nX-Forwarded-For: " + std::string(forwarded_for) + "\nclient " + client;
    if (!sluice::is_trusted_proxy(peer, trusted)) {
        check(client == peer.to_string(), "an untrusted peer is not the client", detail);
        return;
    }
    const std::optional<sluice::IpAddress> ip = sluice::parse_ip(client);
    check((ip && ip->to_string() == client) || (!client.empty() && is_entry_of(client, forwarded_for)),
          "the client is neither an address's canonical text nor an entry of the header", detail);

    // Our proxy appends the address it saw; the rest is the client's.
    if (sluice::is_trusted_proxy(outsider, trusted)) return;
    const std::string appended = std::string(forwarded_for) + ", " + outsider.to_string();
    check(sluice::resolve_client_ip(peer, appended, trusted) == outsider.to_string(),
          "entries left of the address our proxy appended changed the client", detail + "\nappended " + appended);
    std::string spaced;
    for (const char c : appended) spaced += c == ',' ? std::string(" \t,  ") : std::string(1, c);
    check(sluice::resolve_client_ip(peer, spaced, trusted) == outsider.to_string(),
          "blanks around the commas changed the client", spaced);
}

void check_bearer(std::string_view authorization) {
    const std::string_view token = sluice::bearer_token(authorization);
    if (token.empty()) return;
    check(token.data() >= authorization.data() &&
              token.data() + token.size() <= authorization.data() + authorization.size(),
          "the token is not part of the header", authorization);
    check(trimmed(token) == token, "the token keeps blanks", authorization);
    check(equal_ignoring_case(trimmed(authorization).substr(0, 7), "bearer "),
          "a token under another scheme than Bearer", authorization);
    const std::string again = "Bearer " + std::string(token);
    check(sluice::bearer_token(again) == token, "\"Bearer <token>\" does not give the token back", again);
}

class Headers final : public sluice::HeaderLookup {
public:
    Headers(std::string_view authorization, std::string_view api_key)
        : authorization_(authorization),
          api_key_(api_key) {}
    std::string_view get(std::string_view name) const override {
        if (equal_ignoring_case(name, "authorization")) return authorization_;
        if (equal_ignoring_case(name, "x-api-key")) return api_key_;
        return {};
    }

private:
    std::string_view authorization_, api_key_;
};

sluice::Quota counting(std::string name, sluice::KeyKind kind, std::string header = {}) {
    sluice::Quota q;
    q.name = std::move(name);
    q.key = {kind, std::move(header)};
    q.rate = 1000;
    return q;
}

// The limiter counts the request once under each key it carries.
void check_counted_keys(const std::string& client, std::string_view authorization, std::string_view api_key) {
    static const sluice::fuzz::StoppedClock clock;
    static const auto policy = std::make_shared<const sluice::Policy>(
        std::vector<sluice::Quota>{counting("by-ip", sluice::KeyKind::client_ip),
                                   counting("by-token", sluice::KeyKind::bearer_token),
                                   counting("by-key", sluice::KeyKind::header, "X-API-Key")},
        sluice::HeaderStyle::draft);
    sluice::LocalStore store(16);
    const sluice::Limiter limiter(policy, store, clock, sluice::KeyedHasher(1, 2));
    const Headers headers(authorization, api_key);
    const sluice::Decision decision = limiter.decide({"GET", "/", client, &headers}, store);
    check(decision.allowed, "the first request of every key was refused");

    const std::string_view token = sluice::bearer_token(authorization);
    const std::size_t expected = 1 + !token.empty() + !api_key.empty();
    check(decision.outcomes.size() == expected, "the request was not counted under each key it carries");
    auto used = [&](std::string_view quota, std::string_view key) { return limiter.usage(quota, key)->usage.used; };
    check(used("by-ip", client) == 1, "not counted under the client address", client);
    if (!token.empty()) check(used("by-token", token) == 1, "not counted under the bearer token", token);
    if (!api_key.empty()) check(used("by-key", api_key) == 1, "not counted under the API key", api_key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sluice::fuzz::InputReader reader(data, size);
    const sluice::IpAddress peer = address_from(reader);
    const sluice::IpAddress outsider = address_from(reader);
    const std::vector<std::string_view> parts = sluice::fuzz::split_input(reader.rest(), 4);
    const std::vector<sluice::Cidr> trusted = trusted_from(parts[0]);
    const std::string_view forwarded_for = parts[1], authorization = parts[2], api_key = parts[3];

    check_client_ip(peer, forwarded_for, trusted, outsider);
    check_bearer(authorization);
    check_counted_keys(sluice::resolve_client_ip(peer, forwarded_for, trusted), authorization, api_key);
    return 0;
}
