// The timed side of the fleet bench (bench/fleet/run.sh, bench/README.md
// part 7): how long a block made through one host's admin API takes to reach
// the other hosts' XDP block maps.
//
//   fleet_propagation --admin-port P --token-file F --pin DIR [--pin DIR ...]
//       [--blocks N] [--warmup W] [--timeout-ms T] [--poll-us U] [--gap-ms G]
//       [--duration D] [--http-port P2 --http-token-file F2 --http-blocks M]
//
// Block i (client 198.18.<i / 254>.<i % 254 + 1>): a connection to host A's
// admin API (127.0.0.1:P, token in F) is opened, the clock read, then
// `PUT /v1/sys/blocks/<client>` with {"duration": D} sent; from then on,
// every U microseconds, the client's IPv4 key is looked up in the block map
// pinned under each DIR (the other hosts' xdp.pin_path) until every host has
// it, or T ms have passed. A's answer (204) is read in the same loop, so
// polling starts the moment the request is out. Before each block a pause
// drawn uniformly from [0, G] ms (fixed seed), so that the blocks do not fall in
// step with anything periodic in sluiced. W warm-up blocks (198.19.255.x)
// come first and are not counted: the hosts are following.
//
// With --http-port, M blocks (198.19.<i / 254>.<i % 254 + 1>) come between
// the warm-up and the N above, each timed until host B's admin API
// (127.0.0.1:P2, token in F2) lists it in `GET /v1/sys/blocks`, polled back
// to back; the time is when the listing's answer arrived.
//
// Prints one JSON line: per host and for all hosts (the last one to have
// it), the propagation times' percentiles (ms) and every sample (with the
// pause before each block, and its wall-clock start, to find it in the
// hosts' logs); A's answer time; the polling's actual spacing
// (the largest); the HTTP figure; errors.
#include "common/cidr.h"
#include "xdp/abi.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nlohmann/json.hpp>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

struct Options {
    std::uint16_t admin_port = 0;
    std::string token_file;
    std::vector<std::string> pins;
    int blocks = 1000;
    int warmup = 10;
    std::chrono::milliseconds timeout{5000};
    std::chrono::microseconds poll{20};
    int gap_ms = 10;
    std::string duration = "60s";
    std::uint16_t http_port = 0;
    std::string http_token_file;
    int http_blocks = 100;
};

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr,
                 "fleet_propagation: %s\nusage: fleet_propagation --admin-port P --token-file F --pin DIR [--pin DIR "
                 "...] [--blocks N] [--warmup W] [--timeout-ms T] [--poll-us U] [--gap-ms G] [--duration D] "
                 "[--http-port P2 --http-token-file F2 --http-blocks M]\n",
                 why.c_str());
    std::exit(2);
}

long number(const std::string& option, const std::string& text, long low, long high) {
    long value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < low || value > high)
        usage(option + " " + text + ": not a number from " + std::to_string(low) + " to " + std::to_string(high));
    return value;
}

Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; i += 2) {
        const std::string option = argv[i];
        if (i + 1 >= argc) usage(option + " needs a value");
        const std::string value = argv[i + 1];
        if (option == "--admin-port")
            options.admin_port = static_cast<std::uint16_t>(number(option, value, 1, 65535));
        else if (option == "--token-file")
            options.token_file = value;
        else if (option == "--pin")
            options.pins.push_back(value);
        else if (option == "--blocks")
            options.blocks = static_cast<int>(number(option, value, 1, 254 * 256));
        else if (option == "--warmup")
            options.warmup = static_cast<int>(number(option, value, 0, 254));
        else if (option == "--timeout-ms")
            options.timeout = std::chrono::milliseconds(number(option, value, 1, 600'000));
        else if (option == "--poll-us")
            options.poll = std::chrono::microseconds(number(option, value, 1, 1'000'000));
        else if (option == "--gap-ms")
            options.gap_ms = static_cast<int>(number(option, value, 0, 10'000));
        else if (option == "--duration")
            options.duration = value;
        else if (option == "--http-port")
            options.http_port = static_cast<std::uint16_t>(number(option, value, 1, 65535));
        else if (option == "--http-token-file")
            options.http_token_file = value;
        else if (option == "--http-blocks")
            options.http_blocks = static_cast<int>(number(option, value, 1, 254 * 255));
        else
            usage("unknown option " + option);
    }
    if (options.admin_port == 0 || options.token_file.empty() || options.pins.empty())
        usage("--admin-port, --token-file and --pin are required");
    if (options.http_port != 0 && options.http_token_file.empty()) usage("--http-port needs --http-token-file");
    return options;
}

std::string read_token(const std::string& file) {
    std::ifstream in(file);
    std::string token;
    if (!(in >> token)) throw std::runtime_error("no admin token in " + file);
    return token;
}

// The i-th client of a range: <prefix>.<i / 254>.<i % 254 + 1>.
std::string client(const std::string& prefix, int i) {
    return prefix + "." + std::to_string(i / 254) + "." + std::to_string(i % 254 + 1);
}

// ---- HTTP/1.1 to an admin API on loopback, one request per connection

class Exchange {
public:
    // Connects; the request is sent by send().
    explicit Exchange(std::uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
        const int one = 1;
        setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
            throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
    }
    ~Exchange() { close(fd_); }
    Exchange(const Exchange&) = delete;
    Exchange& operator=(const Exchange&) = delete;

    void send(const std::string& method, const std::string& target, const std::string& token,
              const std::string& body = "") {
        std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: " + token +
                              "\r\nConnection: close\r\n";
        if (!body.empty())
            request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
        request += "\r\n" + body;
        for (std::size_t sent = 0; sent < request.size();) {
            const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
            if (n < 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
            sent += static_cast<std::size_t>(n);
        }
    }

    // Reads what has arrived (waiting for it unless `wait` is false); whether
    // the whole answer is in.
    bool read(bool wait) {
        while (!complete()) {
            char buffer[65536];
            const ssize_t n = recv(fd_, buffer, sizeof buffer, wait ? 0 : MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
            if (n < 0) throw std::runtime_error(std::string("recv: ") + std::strerror(errno));
            if (n == 0) {
                closed_ = true;
                if (!complete()) throw std::runtime_error("the connection closed before the whole answer");
                break;
            }
            in_.append(buffer, static_cast<std::size_t>(n));
        }
        return true;
    }

    int status() const { return in_.size() > 12 ? std::atoi(in_.c_str() + 9) : 0; }
    std::string_view body() const {
        const std::size_t end = in_.find("\r\n\r\n");
        return end == std::string::npos ? std::string_view() : std::string_view(in_).substr(end + 4);
    }

private:
    // The headers are in, and the body as long as Content-Length says (204:
    // none; no length: until the server closes, as Connection: close asks).
    bool complete() const {
        const std::size_t end = in_.find("\r\n\r\n");
        if (end == std::string::npos) return false;
        if (status() == 204) return true;
        const std::string headers = lowercase(in_.substr(0, end));
        const std::size_t length = headers.find("\r\ncontent-length:");
        if (length == std::string::npos) return closed_;
        return in_.size() - end - 4 >= std::strtoull(headers.c_str() + length + 17, nullptr, 10);
    }
    static std::string lowercase(std::string text) {
        std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
        return text;
    }

    int fd_;
    std::string in_;
    bool closed_ = false;
};

// ---- figures

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Percentiles (nearest rank) and the like of the samples that are there.
Json summary(const std::vector<std::optional<double>>& samples) {
    std::vector<double> got;
    for (const std::optional<double>& sample : samples)
        if (sample) got.push_back(*sample);
    std::sort(got.begin(), got.end());
    Json out = {{"count", samples.size()}, {"propagated", got.size()}, {"timeouts", samples.size() - got.size()}};
    if (got.empty()) return out;
    const auto rank = [&](double q) {
        const auto n = static_cast<std::size_t>(std::ceil(q * static_cast<double>(got.size())));
        return got[std::max<std::size_t>(n, 1) - 1];
    };
    double sum = 0;
    for (double x : got) sum += x;
    out.update({{"min_ms", got.front()},
                {"p50_ms", rank(0.5)},
                {"p90_ms", rank(0.9)},
                {"p99_ms", rank(0.99)},
                {"max_ms", got.back()},
                {"mean_ms", sum / static_cast<double>(got.size())}});
    return out;
}

// Samples in ms to the microsecond, null where there is none.
Json rounded(const std::vector<std::optional<double>>& samples) {
    Json out = Json::array();
    for (const std::optional<double>& sample : samples)
        out.push_back(sample ? Json(std::round(*sample * 1000) / 1000) : Json(nullptr));
    return out;
}

// ---- the measurements

struct Fleet {
    explicit Fleet(Options o) : options(std::move(o)) {}
    Options options;
    std::string token;
    std::vector<int> maps;  // the block map of each --pin
    std::mt19937 random{42};
    std::vector<std::string> errors;

    void error(const std::string& what) {
        if (errors.size() < 20) errors.push_back(what);
    }
    std::string put_body() const { return Json{{"duration", options.duration}}.dump(); }
    // Sleeps before the next block; how long (ms).
    double pause() {
        std::uniform_int_distribution<int> gap_us(0, options.gap_ms * 1000);
        const int us = gap_us(random);
        std::this_thread::sleep_for(std::chrono::microseconds(us));
        return us / 1000.0;
    }
};

struct XdpSample {
    std::optional<double> answer_ms;
    std::vector<std::optional<double>> host_ms;
};

// One block, timed into every host's block map.
XdpSample block_into_maps(Fleet& fleet, const std::string& ip, double& max_gap_us) {
    const Options& options = fleet.options;
    const sluice_source_key key = sluice::source_key(*sluice::parse_ip(ip), 128);
    sluice_block_entry entry{};
    XdpSample sample{std::nullopt, std::vector<std::optional<double>>(fleet.maps.size())};
    for (std::size_t h = 0; h < fleet.maps.size(); ++h)
        if (bpf_map_lookup_elem(fleet.maps[h], &key, &entry) == 0) fleet.error(ip + " is in a block map already");

    Exchange put(options.admin_port);
    const Clock::time_point start = Clock::now();
    put.send("PUT", "/v1/sys/blocks/" + ip, fleet.token, fleet.put_body());
    const Clock::time_point deadline = start + options.timeout;
    std::size_t missing = fleet.maps.size();
    Clock::time_point last_look = start;
    for (;;) {
        const Clock::time_point look = Clock::now();
        max_gap_us = std::max(max_gap_us, std::chrono::duration<double, std::micro>(look - last_look).count());
        last_look = look;
        for (std::size_t h = 0; h < fleet.maps.size(); ++h) {
            if (sample.host_ms[h] || bpf_map_lookup_elem(fleet.maps[h], &key, &entry) != 0) continue;
            sample.host_ms[h] = ms(look - start);
            --missing;
        }
        if (!sample.answer_ms && put.read(false)) {
            sample.answer_ms = ms(Clock::now() - start);
            if (put.status() != 204)
                fleet.error("PUT " + ip + ": " + std::to_string(put.status()) + " " + std::string(put.body()));
        }
        if (missing == 0 && sample.answer_ms) break;
        if (Clock::now() >= deadline) {
            fleet.error(ip + ": not in every block map (or not answered) within " +
                        std::to_string(options.timeout.count()) + " ms");
            break;
        }
        std::this_thread::sleep_for(options.poll);
    }
    return sample;
}

void warm_up(Fleet& fleet) {
    double max_gap_us = 0;
    for (int i = 0; i < fleet.options.warmup; ++i) {
        fleet.pause();
        const XdpSample sample = block_into_maps(fleet, "198.19.255." + std::to_string(i + 1), max_gap_us);
        for (const std::optional<double>& host : sample.host_ms)
            if (!host) throw std::runtime_error("a warm-up block did not reach every host: is the fleet following?");
    }
}

Json measure_xdp(Fleet& fleet) {
    const Options& options = fleet.options;
    std::vector<std::optional<double>> answers;
    std::vector<std::vector<std::optional<double>>> hosts(fleet.maps.size());
    std::vector<std::optional<double>> all;
    std::vector<std::optional<double>> pauses;
    Json at = Json::array();
    double max_gap_us = 0;
    for (int i = 0; i < options.blocks; ++i) {
        pauses.push_back(fleet.pause());
        at.push_back(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
        const XdpSample sample = block_into_maps(fleet, client("198.18", i), max_gap_us);
        answers.push_back(sample.answer_ms);
        std::optional<double> last = 0.0;
        for (std::size_t h = 0; h < hosts.size(); ++h) {
            hosts[h].push_back(sample.host_ms[h]);
            last = last && sample.host_ms[h] ? std::optional(std::max(*last, *sample.host_ms[h])) : std::nullopt;
        }
        all.push_back(last);
    }
    Json per_host = Json::array();
    Json host_samples = Json::array();
    for (std::size_t h = 0; h < hosts.size(); ++h) {
        per_host.push_back(summary(hosts[h]));
        per_host.back()["pin"] = options.pins[h];
        host_samples.push_back(rounded(hosts[h]));
    }
    return {{"blocks", options.blocks},
            {"hosts", per_host},
            {"all_hosts", summary(all)},
            {"answer", summary(answers)},
            {"max_poll_gap_us", max_gap_us},
            {"samples_ms", {{"answer", rounded(answers)}, {"hosts", host_samples}, {"pause_before", rounded(pauses)}}},
            {"started_unix_s", at}};
}

Json measure_http(Fleet& fleet) {
    const Options& options = fleet.options;
    const std::string token_b = read_token(options.http_token_file);
    std::vector<std::optional<double>> listed;
    std::vector<std::optional<double>> gets;
    for (int i = 0; i < options.http_blocks; ++i) {
        fleet.pause();
        const std::string ip = client("198.19", i);
        const std::string quoted = "\"" + ip + "\"";
        Exchange put(options.admin_port);
        const Clock::time_point start = Clock::now();
        put.send("PUT", "/v1/sys/blocks/" + ip, fleet.token, fleet.put_body());
        const Clock::time_point deadline = start + options.timeout;
        bool answered = false;
        std::optional<double> found;
        while (!found || !answered) {
            if (!answered && put.read(false)) {
                answered = true;
                if (put.status() != 204)
                    fleet.error("PUT " + ip + ": " + std::to_string(put.status()) + " " + std::string(put.body()));
            }
            if (!found) {
                Exchange get(options.http_port);
                const Clock::time_point asked = Clock::now();
                get.send("GET", "/v1/sys/blocks", token_b);
                get.read(true);
                const Clock::time_point got = Clock::now();
                gets.push_back(ms(got - asked));
                if (get.status() != 200) {
                    fleet.error("GET /v1/sys/blocks: " + std::to_string(get.status()));
                    break;
                }
                if (get.body().find(quoted) != std::string_view::npos) found = ms(got - start);
            }
            if (Clock::now() >= deadline) {
                fleet.error(ip + ": not listed by host B (or not answered) within " +
                            std::to_string(options.timeout.count()) + " ms");
                break;
            }
            if (found && !answered) std::this_thread::sleep_for(options.poll);
        }
        listed.push_back(found);
    }
    return {{"blocks", options.http_blocks},
            {"listed", summary(listed)},
            {"get", summary(gets)},
            {"samples_ms", rounded(listed)}};
}

}  // namespace

int main(int argc, char** argv) {
    Fleet fleet(parse_options(argc, argv));
    try {
        // Sleeps of a few microseconds, not the default 50 us of slack.
        prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
        fleet.token = read_token(fleet.options.token_file);
        for (const std::string& pin : fleet.options.pins) {
            const std::string path = pin + "/blocked";
            const int fd = bpf_obj_get(path.c_str());
            if (fd < 0) throw std::runtime_error(path + ": " + std::strerror(errno));
            fleet.maps.push_back(fd);
        }
        Json out = {{"poll_us", fleet.options.poll.count()},
                    {"timeout_ms", fleet.options.timeout.count()},
                    {"gap_ms_max", fleet.options.gap_ms},
                    {"duration", fleet.options.duration},
                    {"warmup", fleet.options.warmup}};
        warm_up(fleet);
        // The listing first, while it is short: a GET of B's whole block
        // list is the HTTP figure's resolution.
        out["http"] = fleet.options.http_port == 0 ? Json(nullptr) : measure_http(fleet);
        out["xdp"] = measure_xdp(fleet);
        out["errors"] = fleet.errors;
        std::cout << out.dump() << '\n';
        return fleet.errors.empty() ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fleet_propagation: %s\n", e.what());
        std::cout << Json{{"errors", fleet.errors}, {"failed", e.what()}}.dump() << '\n';
        return 1;
    }
}
