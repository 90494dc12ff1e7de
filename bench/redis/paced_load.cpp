// The load of the Redis store bench (bench/redis/run.sh): requests at a fixed
// rate, open loop, from one epoll thread. Request i is due at start + i/R
// whatever happened before, and its latency runs from when it was due to the
// end of its answer, so a stall counts in full (no coordinated omission).
// Every mode sends the same sequence: the key of request i is key-<n>, n
// drawn from a fixed seed out of --keys; its path is /item ("one") or, with
// "alternate", /limited/item for even i and /open/item for odd i.
//
//   paced_load http --port P --rate R --seconds S --connections C
//       --keys K --paths one|alternate
//     HTTP/1.1 GET with X-Api-Key to 127.0.0.1:P over C keep-alive
//     connections, one request at a time on each: a request due while none
//     is idle waits in line for the first that is. 2xx is admitted, 429
//     refused.
//
//   paced_load token-bucket --port P --script FILE ... (same options)
//   paced_load fixed-window --port P --script FILE ...
//     No HTTP: for each request, the call a per-request-script limiter
//     makes to the Redis at 127.0.0.1:P, pipelined over C connections
//     (request i on connection i mod C, written when it is due, without
//     waiting for earlier replies). token-bucket: EVALSHA of FILE (loaded
//     first with SCRIPT LOAD) with Traefik's arguments: the key
//     rate:<quota>:<api key>, the rate per microsecond, the burst, a TTL in
//     seconds, the time in microseconds and the longest delay (microseconds)
//     the request may wait; admitted when the wait the script returns is at
//     most that delay. fixed-window: EVAL of FILE's text, as Kong's redis
//     policy sends it, with the key ratelimit:<route>:<service>:<api key>:
//     <second in ms>:second and the expiry 1; admitted when the count
//     before this request was under the limit. The quotas are those of
//     bench/peers/sluice-half_refused.json (/limited 1/s burst 1, /open
//     1,000,000/s) and sluice-many_keys_no_refusals.json (/item
//     1,000,000/s).
//
// Prints one JSON line: requests answered, the rate achieved, latency
// percentiles (ms), admitted, refused, other statuses, errors, requests
// never answered (2 s after the last was due), and how late requests went
// out (sent more than 1 ms after they were due: the load side fell behind).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::int64_t kBillion = 1'000'000'000;
constexpr std::int64_t kDrainNs = 2 * kBillion;
constexpr std::int64_t kLateNs = 1'000'000;

enum class Mode { http, token_bucket, fixed_window };

std::int64_t now_ns(clockid_t clock = CLOCK_MONOTONIC) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return ts.tv_sec * kBillion + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "paced_load: %s\n", what.c_str());
    std::exit(1);
}

[[noreturn]] void die_errno(const std::string& what) { die(what + ": " + std::strerror(errno)); }

// splitmix64: the same key sequence in every run and every mode.
struct Random {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
};

// A quota as both baselines express it: a rate per second and a burst.
struct Quota {
    const char* name;
    const char* path;
    double per_second;
    std::int64_t burst;
};
constexpr Quota kLimited{"limited", "/limited/item", 1, 1};
constexpr Quota kOpen{"open", "/open/item", 1'000'000, 1'000'000};
constexpr Quota kItem{"many-keys", "/item", 1'000'000, 1'000'000};
// Kong's key names a route and a service by their ids.
constexpr const char* kRouteLimited = "6d1c8a0e-0b4e-4f5e-9d6a-2f1b3c4d5e01";
constexpr const char* kRouteOther = "6d1c8a0e-0b4e-4f5e-9d6a-2f1b3c4d5e02";
constexpr const char* kService = "00000000-0000-0000-0000-000000000000";

struct Options {
    Mode mode = Mode::http;
    int port = 0;
    std::int64_t rate = 0;
    double seconds = 0;
    int connections = 1;
    std::uint64_t keys = 100;
    bool alternate = false;
    std::string script_file;
};

struct Request {
    std::int64_t due;
    std::uint32_t key;
    const Quota* quota;
};

int connect_to(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die_errno("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        die_errno("connect to 127.0.0.1:" + std::to_string(port));
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

void set_nonblocking(int fd) {
    const int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) die_errno("fcntl");
}

// One RESP command: an array of bulk strings.
std::string resp(const std::vector<std::string>& words) {
    std::string out = "*" + std::to_string(words.size()) + "\r\n";
    for (const std::string& word : words) out += "$" + std::to_string(word.size()) + "\r\n" + word + "\r\n";
    return out;
}

// A reply as far as this tool reads it.
struct Reply {
    char type = 0;  // + - : $ *
    std::int64_t integer = 0;
    std::string text;  // simple, error or bulk
    std::vector<Reply> items;
};

// Parses one reply at `at`; the bytes it took, or 0 while it is incomplete.
std::size_t parse_reply(std::string_view in, std::size_t at, Reply& reply) {
    const std::size_t line_end = in.find("\r\n", at);
    if (line_end == std::string_view::npos || line_end == at) return 0;
    reply.type = in[at];
    const std::string_view line = in.substr(at + 1, line_end - at - 1);
    const std::size_t after_line = line_end + 2;
    switch (reply.type) {
    case '+':
    case '-': reply.text = line; return after_line - at;
    case ':': reply.integer = std::strtoll(std::string(line).c_str(), nullptr, 10); return after_line - at;
    case '$': {
        const long long length = std::strtoll(std::string(line).c_str(), nullptr, 10);
        if (length < 0) return after_line - at;  // nil
        if (in.size() < after_line + static_cast<std::size_t>(length) + 2) return 0;
        reply.text = in.substr(after_line, static_cast<std::size_t>(length));
        return after_line + static_cast<std::size_t>(length) + 2 - at;
    }
    case '*': {
        const long long count = std::strtoll(std::string(line).c_str(), nullptr, 10);
        std::size_t next = after_line;
        for (long long i = 0; i < count; ++i) {
            Reply item;
            const std::size_t used = parse_reply(in, next, item);
            if (used == 0) return 0;
            reply.items.push_back(std::move(item));
            next += used;
        }
        return next - at;
    }
    default: die("unreadable reply from Redis: " + std::string(in.substr(at, 40)));
    }
}

// A blocking call on a fresh connection, for SCRIPT LOAD.
Reply call_once(int port, const std::vector<std::string>& words) {
    const int fd = connect_to(port);
    const std::string command = resp(words);
    if (write(fd, command.data(), command.size()) != static_cast<ssize_t>(command.size())) die_errno("write");
    std::string in;
    Reply reply;
    char buffer[4096];
    while (true) {
        const ssize_t got = read(fd, buffer, sizeof buffer);
        if (got <= 0) die_errno("read from Redis");
        in.append(buffer, static_cast<std::size_t>(got));
        if (parse_reply(in, 0, reply) != 0) break;
        reply = Reply{};
    }
    close(fd);
    if (reply.type == '-') die("Redis: " + reply.text);
    return reply;
}

class Load {
public:
    explicit Load(const Options& options) : o_(options) {}

    void run() {
        prepare();
        epoll_ = epoll_create1(EPOLL_CLOEXEC);
        timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (epoll_ < 0 || timer_ < 0) die_errno("epoll/timerfd");
        add(timer_, EPOLLIN, kTimerTag);
        for (int i = 0; i < o_.connections; ++i) open_connection(i);

        total_ = static_cast<std::int64_t>(std::llround(o_.seconds * static_cast<double>(o_.rate)));
        start_ = now_ns() + 10'000'000;  // 10 ms from now
        latencies_.reserve(static_cast<std::size_t>(total_));
        arm(start_);
        const std::int64_t last_due = due(total_ > 0 ? total_ - 1 : 0);
        epoll_event events[64];
        while (true) {
            const std::int64_t now = now_ns();
            if (next_ >= total_ && (outstanding() == 0 || now > last_due + kDrainNs)) break;
            const int timeout_ms = next_ >= total_ ? 10 : -1;
            const int n = epoll_wait(epoll_, events, 64, timeout_ms);
            if (n < 0) {
                if (errno == EINTR) continue;
                die_errno("epoll_wait");
            }
            for (int e = 0; e < n; ++e) {
                const std::uint64_t tag = events[e].data.u64;
                if (tag == kTimerTag) {
                    std::uint64_t expirations;
                    [[maybe_unused]] const ssize_t r = read(timer_, &expirations, sizeof expirations);
                    send_due();
                    continue;
                }
                Connection& c = *connections_[tag];
                if (events[e].events & EPOLLOUT) flush(c);
                if (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) receive(c);
            }
        }
        end_ = now_ns();
        report();
    }

private:
    static constexpr std::uint64_t kTimerTag = ~0ULL;

    struct Connection {
        int index = 0;
        int fd = -1;
        std::string out;
        std::string in;
        bool want_write = false;
        std::deque<Request> waiting;  // sent, reply not yet in (HTTP: at most one)
    };

    std::int64_t due(std::int64_t i) const { return start_ + i * kBillion / o_.rate; }

    void prepare() {
        Random random{42};
        const std::int64_t count = std::llround(o_.seconds * static_cast<double>(o_.rate));
        keys_.reserve(static_cast<std::size_t>(count));
        for (std::int64_t i = 0; i < count; ++i) keys_.push_back(static_cast<std::uint32_t>(random.next() % o_.keys));
        if (o_.mode == Mode::http) return;
        std::ifstream file(o_.script_file);
        if (!file) die("cannot read " + o_.script_file);
        std::stringstream text;
        text << file.rdbuf();
        script_ = text.str();
        if (o_.mode == Mode::token_bucket) sha_ = call_once(o_.port, {"SCRIPT", "LOAD", script_}).text;
    }

    const Quota* quota_of(std::int64_t i) const {
        if (!o_.alternate) return &kItem;
        return i % 2 == 0 ? &kLimited : &kOpen;
    }

    void add(int fd, std::uint32_t events, std::uint64_t tag) {
        epoll_event event{};
        event.events = events;
        event.data.u64 = tag;
        if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) die_errno("epoll_ctl");
    }

    void open_connection(int index) {
        if (static_cast<std::size_t>(index) >= connections_.size()) {
            connections_.push_back(std::make_unique<Connection>());
            connections_.back()->index = index;
        }
        Connection& c = *connections_[static_cast<std::size_t>(index)];
        c.fd = connect_to(o_.port);
        set_nonblocking(c.fd);
        c.out.clear();
        c.in.clear();
        c.want_write = false;
        add(c.fd, EPOLLIN, static_cast<std::uint64_t>(index));
        if (o_.mode == Mode::http) idle_.push_back(index);
    }

    // A connection the server closed or broke: its requests failed.
    void reopen(Connection& c) {
        errors_ += static_cast<std::int64_t>(c.waiting.size());
        c.waiting.clear();
        idle_.erase(std::remove(idle_.begin(), idle_.end(), c.index), idle_.end());
        epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        ++reconnects_;
        open_connection(c.index);
        start_queued();
    }

    void arm(std::int64_t at) {
        itimerspec spec{};
        spec.it_value.tv_sec = at / kBillion;
        spec.it_value.tv_nsec = at % kBillion;
        if (timerfd_settime(timer_, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) die_errno("timerfd_settime");
    }

    void send_due() {
        const std::int64_t now = now_ns();
        while (next_ < total_ && due(next_) <= now) {
            const Request request{due(next_), keys_[static_cast<std::size_t>(next_)], quota_of(next_)};
            if (o_.mode == Mode::http) {
                queue_.push_back(request);
            } else {
                Connection& c = *connections_[static_cast<std::size_t>(next_ % o_.connections)];
                send_redis(c, request);
            }
            ++next_;
        }
        if (o_.mode == Mode::http) start_queued();
        if (next_ < total_) arm(due(next_));
    }

    void note_sent(const Request& request) {
        const std::int64_t lag = now_ns() - request.due;
        if (lag > kLateNs) ++late_;
        max_lag_ = std::max(max_lag_, lag);
    }

    void start_queued() {
        while (!queue_.empty() && !idle_.empty()) {
            Connection& c = *connections_[static_cast<std::size_t>(idle_.back())];
            idle_.pop_back();
            const Request request = queue_.front();
            queue_.pop_front();
            c.out += "GET ";
            c.out += request.quota->path;
            c.out += " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: key-" + std::to_string(request.key) + "\r\n\r\n";
            c.waiting.push_back(request);
            note_sent(request);
            flush(c);
        }
    }

    void send_redis(Connection& c, const Request& request) {
        const Quota& q = *request.quota;
        const std::string key = "key-" + std::to_string(request.key);
        if (o_.mode == Mode::token_bucket) {
            // As Traefik: the rate per microsecond, a TTL of 1 + (1 s for a
            // rate of at least 1/s), and a longest delay of 1/(2 rate).
            const double per_us = q.per_second / 1e6;
            const std::int64_t max_delay_us = static_cast<std::int64_t>(1e6 / (2 * q.per_second));
            char rate[32];
            std::snprintf(rate, sizeof rate, "%.17g", per_us);
            c.out +=
                resp({"EVALSHA", sha_, "1", std::string("rate:") + q.name + ":" + key, rate, std::to_string(q.burst),
                      "2", std::to_string(now_ns(CLOCK_REALTIME) / 1000), std::to_string(max_delay_us)});
        } else {
            // As Kong's redis policy, a limit per second: the window's start
            // in ms in the key, the script's text every time.
            const std::int64_t second_ms = now_ns(CLOCK_REALTIME) / kBillion * 1000;
            // ratelimit:<route>:<service>:...; one route per quota.
            const char* route = &q == &kLimited ? kRouteLimited : kRouteOther;
            c.out += resp({"EVAL", script_, "1",
                           std::string("ratelimit:") + route + ":" + kService + ":" + key + ":" +
                               std::to_string(second_ms) + ":second",
                           "1"});
        }
        c.waiting.push_back(request);
        note_sent(request);
        flush(c);
    }

    void flush(Connection& c) {
        std::size_t written = 0;
        while (written < c.out.size()) {
            const ssize_t n = write(c.fd, c.out.data() + written, c.out.size() - written);
            if (n > 0) {
                written += static_cast<std::size_t>(n);
                ++writes_;
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            c.out.erase(0, written);
            return reopen(c);
        }
        c.out.erase(0, written);
        const bool want = !c.out.empty();
        if (want != c.want_write) {
            epoll_event event{};
            event.events = want ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
            event.data.u64 = static_cast<std::uint64_t>(c.index);
            epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &event);
            c.want_write = want;
        }
    }

    void receive(Connection& c) {
        char buffer[65536];
        while (true) {
            const ssize_t n = read(c.fd, buffer, sizeof buffer);
            if (n > 0) {
                c.in.append(buffer, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            return reopen(c);  // closed or broken
        }
        if (o_.mode == Mode::http) {
            read_http(c);
        } else {
            read_redis(c);
        }
    }

    void answered(const Request& request, bool admitted, bool refused) {
        latencies_.push_back(now_ns() - request.due);
        if (admitted) {
            ++admitted_;
        } else if (refused) {
            ++refused_;
        } else {
            ++other_;
        }
    }

    void read_http(Connection& c) {
        while (!c.in.empty()) {
            const std::size_t head_end = c.in.find("\r\n\r\n");
            if (head_end == std::string::npos) return;
            std::string head = c.in.substr(0, head_end + 2);
            std::transform(head.begin(), head.end(), head.begin(), [](unsigned char ch) { return std::tolower(ch); });
            if (head.size() < 12 || c.waiting.empty()) die("unexpected answer: " + c.in.substr(0, 80));
            if (head.find("\r\ntransfer-encoding:") != std::string::npos) die("chunked answers are not read");
            const int status = std::atoi(head.c_str() + 9);
            std::size_t body = 0;
            if (const std::size_t at = head.find("\r\ncontent-length:"); at != std::string::npos)
                body = std::strtoull(head.c_str() + at + 17, nullptr, 10);
            if (c.in.size() < head_end + 4 + body) return;
            c.in.erase(0, head_end + 4 + body);
            const Request request = c.waiting.front();
            c.waiting.pop_front();
            answered(request, status >= 200 && status < 300, status == 429);
            if (head.find("\r\nconnection: close") != std::string::npos) return reopen(c);
            idle_.push_back(c.index);
        }
        start_queued();
    }

    void read_redis(Connection& c) {
        std::size_t at = 0;
        while (at < c.in.size()) {
            Reply reply;
            const std::size_t used = parse_reply(c.in, at, reply);
            if (used == 0) break;
            at += used;
            if (c.waiting.empty()) die("a reply nothing was sent for");
            const Request request = c.waiting.front();
            c.waiting.pop_front();
            if (reply.type == '-') {
                ++errors_;
                if (error_text_.empty()) error_text_ = reply.text;
                continue;
            }
            bool admitted = false;
            if (o_.mode == Mode::token_bucket) {
                if (reply.items.size() < 2) die("unexpected token-bucket reply");
                const double wait_us = std::strtod(reply.items[1].text.c_str(), nullptr);
                admitted = wait_us <= std::floor(1e6 / (2 * request.quota->per_second));
            } else {
                admitted = static_cast<double>(reply.integer) < request.quota->per_second;
            }
            answered(request, admitted, !admitted);
        }
        c.in.erase(0, at);
    }

    std::int64_t outstanding() const {
        std::int64_t n = static_cast<std::int64_t>(queue_.size());
        for (const auto& c : connections_) n += static_cast<std::int64_t>(c->waiting.size());
        return n;
    }

    double percentile_ms(const std::vector<std::int64_t>& sorted, double p) const {
        if (sorted.empty()) return 0;
        const auto rank = static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(sorted.size())));
        return static_cast<double>(sorted[std::max<std::size_t>(rank, 1) - 1]) / 1e6;
    }

    void report() {
        std::vector<std::int64_t> sorted = latencies_;
        std::sort(sorted.begin(), sorted.end());
        const double window_s = static_cast<double>(due(total_) - start_) / 1e9;
        const auto answered = static_cast<std::int64_t>(sorted.size());
        std::printf(
            "{\"requests\":%lld,\"sent\":%lld,\"target_rate\":%lld,\"duration_s\":%.6f,\"requests_per_s\":%.1f,"
            "\"p50_ms\":%.4f,\"p90_ms\":%.4f,\"p99_ms\":%.4f,\"p999_ms\":%.4f,\"max_ms\":%.4f,"
            "\"admitted\":%lld,\"refused\":%lld,\"other_status\":%lld,\"errors\":%lld,\"unanswered\":%lld,"
            "\"reconnects\":%lld,\"late_sends\":%lld,\"max_send_lag_ms\":%.4f,\"writes\":%lld,"
            "\"connections\":%d,\"first_error\":\"%s\"}\n",
            static_cast<long long>(answered), static_cast<long long>(next_), static_cast<long long>(o_.rate), window_s,
            window_s > 0 ? static_cast<double>(answered) / window_s : 0.0, percentile_ms(sorted, 50),
            percentile_ms(sorted, 90), percentile_ms(sorted, 99), percentile_ms(sorted, 99.9),
            sorted.empty() ? 0.0 : static_cast<double>(sorted.back()) / 1e6, static_cast<long long>(admitted_),
            static_cast<long long>(refused_), static_cast<long long>(other_), static_cast<long long>(errors_),
            static_cast<long long>(outstanding()), static_cast<long long>(reconnects_), static_cast<long long>(late_),
            static_cast<double>(max_lag_) / 1e6, static_cast<long long>(writes_), o_.connections,
            json_safe(error_text_).c_str());
    }

    static std::string json_safe(const std::string& text) {
        std::string out;
        for (const char ch : text.substr(0, 120))
            if (ch != '"' && ch != '\\' && static_cast<unsigned char>(ch) >= 0x20) out += ch;
        return out;
    }

    const Options& o_;
    int epoll_ = -1;
    int timer_ = -1;
    std::string script_;
    std::string sha_;
    std::vector<std::uint32_t> keys_;
    std::vector<std::unique_ptr<Connection>> connections_;
    std::vector<int> idle_;      // HTTP: connections with no request out
    std::deque<Request> queue_;  // HTTP: due, waiting for an idle connection
    std::vector<std::int64_t> latencies_;
    std::int64_t start_ = 0;
    std::int64_t end_ = 0;
    std::int64_t total_ = 0;
    std::int64_t next_ = 0;
    std::int64_t admitted_ = 0;
    std::int64_t refused_ = 0;
    std::int64_t other_ = 0;
    std::int64_t errors_ = 0;
    std::int64_t reconnects_ = 0;
    std::int64_t late_ = 0;
    std::int64_t max_lag_ = 0;
    std::int64_t writes_ = 0;
    std::string error_text_;
};

[[noreturn]] void usage() {
    die("usage: paced_load http|token-bucket|fixed-window --port P --rate R --seconds S [--connections C] "
        "[--keys K] [--paths one|alternate] [--script FILE]");
}

Options parse(int argc, char** argv) {
    if (argc < 2) usage();
    Options o;
    const std::string mode = argv[1];
    if (mode == "http") {
        o.mode = Mode::http;
    } else if (mode == "token-bucket") {
        o.mode = Mode::token_bucket;
    } else if (mode == "fixed-window") {
        o.mode = Mode::fixed_window;
    } else {
        usage();
    }
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc) usage();
        const std::string name = argv[i];
        const char* value = argv[i + 1];
        if (name == "--port") {
            o.port = std::atoi(value);
        } else if (name == "--rate") {
            o.rate = std::atoll(value);
        } else if (name == "--seconds") {
            o.seconds = std::atof(value);
        } else if (name == "--connections") {
            o.connections = std::atoi(value);
        } else if (name == "--keys") {
            o.keys = std::strtoull(value, nullptr, 10);
        } else if (name == "--paths") {
            if (std::string(value) != "one" && std::string(value) != "alternate") usage();
            o.alternate = std::string(value) == "alternate";
        } else if (name == "--script") {
            o.script_file = value;
        } else {
            usage();
        }
    }
    if (o.port <= 0 || o.rate <= 0 || o.seconds <= 0 || o.connections <= 0 || o.keys == 0) usage();
    if (o.mode != Mode::http && o.script_file.empty()) die("--script is needed with " + mode);
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    signal(SIGPIPE, SIG_IGN);
    const Options options = parse(argc, argv);
    Load load(options);
    load.run();
    return 0;
}
