// The HTTP load of the attack bench (bench/attack/run.sh): one epoll thread,
// plain HTTP/1.1 GET, every socket bound to one of the given source
// addresses. Two modes:
//
//   attack_load abuse --target IP:PORT --first-source IP --sources N
//       --keepalive K --fresh F --duration S [--timeout-ms T] --out FILE
//     N abusers, each with K keep-alive connections (a request, its answer,
//     the next request: closed loop, as fast as the server answers) and F
//     connections that each carry one request (`Connection: close`) and are
//     opened again at once. A connect or an answer that takes longer than T
//     (default 500 ms) is given up and the connection opened again, so an
//     abuser that is dropped at the NIC keeps sending SYNs.
//
//   attack_load legit --target IP:PORT --first-source IP --rate R
//       --duration S [--timeout-ms T] [--pool P] --out FILE
//     One client sending R requests/s open-loop: request i is due at
//     start + i/R whatever happened before; it goes out on an idle
//     keep-alive connection of a pool of at most P (default 16) and waits
//     in line when none is idle. Its latency runs from when it was due (so a
//     stall is counted in full: no coordinated omission) to the end of its
//     answer; it succeeds with a 2xx within T (default 2000 ms).
//
// FILE gets one JSON object: the start time (CLOCK_REALTIME, us), totals and
// a timeline in 100 ms buckets; for legit also every request's latency.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr std::int64_t kBucketUs = 100'000;

std::int64_t now_us(clockid_t clock = CLOCK_MONOTONIC) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1'000'000LL + ts.tv_nsec / 1000;
}

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "attack_load: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

struct Options {
    std::string mode;
    sockaddr_in target{};
    in_addr first_source{};
    int sources = 1;
    int keepalive = 0;
    int fresh = 0;
    double rate = 0;
    double duration_s = 10;
    int timeout_ms = -1;
    int pool = 16;
    std::string out;
};

// Per 100 ms bucket.
struct Bucket {
    std::uint64_t sent = 0, ok = 0, limited = 0, other_status = 0, connects = 0, connect_timeouts = 0,
                  answer_timeouts = 0, errors = 0;
    std::uint64_t due = 0, succeeded = 0;  // legit: requests due in this bucket, and of them those that succeeded
};

struct Conn {
    int fd = -1;
    int source = 0;
    bool fresh = false;  // one request per connection
    bool connected = false;
    bool busy = false;          // a request is out
    std::int64_t deadline = 0;  // of the connect or the answer (monotonic us)
    std::int64_t due_us = 0;    // legit: when the request in flight was due
    std::size_t request = 0;    // legit: its index
    std::string in;
};

class Load {
public:
    explicit Load(const Options& o) : o_(o) {
        ep_ = epoll_create1(0);
        if (ep_ < 0) die("epoll_create1");
        const std::string host = inet_ntoa(o.target.sin_addr);
        keepalive_request_ = "GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: attack_load\r\n\r\n";
        close_request_ = "GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: attack_load\r\nConnection: close\r\n\r\n";
        if (o_.timeout_ms < 0) o_.timeout_ms = o_.mode == "legit" ? 2000 : 500;
    }

    void run();
    void write(std::FILE* f);

private:
    Bucket& bucket(std::int64_t t) {
        const std::size_t i = static_cast<std::size_t>(std::max<std::int64_t>(0, (t - start_) / kBucketUs));
        if (i >= buckets_.size()) buckets_.resize(i + 1);
        return buckets_[i];
    }
    void open(Conn* c);
    void drop(Conn* c, bool reopen);
    void send_request(Conn* c);
    void on_readable(Conn* c);
    void on_writable(Conn* c);
    void answered(Conn* c, int status);
    void request_failed(Conn* c);
    void pump_legit(std::int64_t t);

    Options o_;
    int ep_ = -1;
    std::string keepalive_request_, close_request_;
    std::int64_t start_ = 0, start_realtime_ = 0, end_ = 0;
    std::vector<Bucket> buckets_;
    std::vector<std::unique_ptr<Conn>> conns_;
    bool stopping_ = false;
    // legit
    std::size_t next_due_ = 0;              // index of the next request to fall due
    std::deque<std::size_t> waiting_;       // due, no idle connection yet
    std::vector<std::int64_t> latency_us_;  // per request; -1 failed
    std::vector<int> status_;
};

void Load::open(Conn* c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die("socket");
    const int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(ntohl(o_.first_source.s_addr) + static_cast<std::uint32_t>(c->source));
    if (bind(c->fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) die("bind (is the source address set up?)");
    c->connected = false;
    c->busy = false;
    c->in.clear();
    const std::int64_t t = now_us();
    c->deadline = t + o_.timeout_ms * 1000LL;
    ++bucket(t).connects;
    if (connect(c->fd, reinterpret_cast<const sockaddr*>(&o_.target), sizeof o_.target) != 0 && errno != EINPROGRESS) {
        ++bucket(t).errors;
        ::close(c->fd);
        c->fd = -1;
        c->deadline = t + 10'000;  // retry shortly
        return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.ptr = c;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl");
}

void Load::drop(Conn* c, bool reopen) {
    if (c->fd >= 0) {
        ::close(c->fd);
        c->fd = -1;
    }
    c->connected = false;
    c->busy = false;
    if (reopen && !stopping_) open(c);
}

void Load::send_request(Conn* c) {
    const std::string& req = c->fresh ? close_request_ : keepalive_request_;
    const ssize_t n = ::send(c->fd, req.data(), req.size(), MSG_NOSIGNAL);
    const std::int64_t t = now_us();
    if (n != static_cast<ssize_t>(req.size())) {  // a request fits a fresh socket buffer; anything else is an error
        ++bucket(t).errors;
        if (o_.mode == "legit") request_failed(c);
        drop(c, o_.mode == "abuse");
        return;
    }
    c->busy = true;
    c->deadline = t + o_.timeout_ms * 1000LL;
    if (o_.mode == "abuse") ++bucket(t).sent;
}

// Legit: the request on c ended without a 2xx.
void Load::request_failed(Conn* c) {
    if (!c->busy) return;
    latency_us_[c->request] = -1;
    c->busy = false;
}

void Load::answered(Conn* c, int status) {
    const std::int64_t t = now_us();
    Bucket& b = bucket(t);
    if (status >= 200 && status < 300)
        ++b.ok;
    else if (status == 429)
        ++b.limited;
    else
        ++b.other_status;
    if (o_.mode == "legit") {
        status_[c->request] = status;
        if (status >= 200 && status < 300) {
            latency_us_[c->request] = t - c->due_us;
            ++bucket(c->due_us).succeeded;
        } else {
            latency_us_[c->request] = -1;
        }
    }
    c->busy = false;
}

// A minimal HTTP/1.1 answer reader: status line, Content-Length or a body
// up to the close, `Connection: close`.
void Load::on_readable(Conn* c) {
    char buf[16384];
    bool eof = false;
    for (;;) {
        const ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
        if (n > 0) {
            c->in.append(buf, static_cast<std::size_t>(n));
            if (n < static_cast<ssize_t>(sizeof buf)) break;
        } else if (n == 0) {
            eof = true;
            break;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else {
            eof = true;
            ++bucket(now_us()).errors;
            break;
        }
    }
    for (;;) {
        if (!c->busy) {
            if (!c->in.empty() || eof) {  // unexpected bytes, or the server closed an idle connection
                if (o_.mode == "legit" && eof) {
                    drop(c, false);
                    return;
                }
                drop(c, o_.mode == "abuse");
                return;
            }
            return;
        }
        const std::size_t head_end = c->in.find("\r\n\r\n");
        if (head_end == std::string::npos) {
            if (eof) {
                ++bucket(now_us()).errors;
                if (o_.mode == "legit") request_failed(c);
                drop(c, o_.mode == "abuse");
            }
            return;
        }
        int status = 0;
        if (c->in.compare(0, 9, "HTTP/1.1 ") == 0 || c->in.compare(0, 9, "HTTP/1.0 ") == 0)
            status = std::atoi(c->in.c_str() + 9);
        std::string head = c->in.substr(0, head_end);
        std::transform(head.begin(), head.end(), head.begin(), [](unsigned char ch) { return std::tolower(ch); });
        long length = -1;
        const std::size_t cl = head.find("\r\ncontent-length:");
        if (cl != std::string::npos) length = std::strtol(head.c_str() + cl + 17, nullptr, 10);
        const bool close_after = head.find("\r\nconnection: close") != std::string::npos || c->fresh;
        const std::size_t body_start = head_end + 4;
        if (length >= 0) {
            if (c->in.size() < body_start + static_cast<std::size_t>(length)) {
                if (eof) {
                    ++bucket(now_us()).errors;
                    if (o_.mode == "legit") request_failed(c);
                    drop(c, o_.mode == "abuse");
                }
                return;
            }
            c->in.erase(0, body_start + static_cast<std::size_t>(length));
        } else if (!eof) {
            return;  // body up to the close
        } else {
            c->in.clear();
        }
        answered(c, status);
        if (close_after || eof) {
            drop(c, o_.mode == "abuse");
            return;
        }
        if (o_.mode == "abuse") {
            send_request(c);
            if (c->fd < 0) return;
        } else {
            return;  // idle: pump_legit hands it the next request
        }
    }
}

void Load::on_writable(Conn* c) {
    if (c->connected) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        ++bucket(now_us()).errors;
        c->deadline = now_us() + 10'000;
        ::close(c->fd);
        c->fd = -1;
        return;  // reopened by the timer (both modes)
    }
    c->connected = true;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = c;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c->fd, &ev);
    if (o_.mode == "abuse") send_request(c);
}

void Load::pump_legit(std::int64_t t) {
    // Requests that fell due.
    while (t < end_ && static_cast<double>(next_due_) < (t - start_) * o_.rate / 1e6) {
        const std::int64_t due = start_ + static_cast<std::int64_t>(next_due_ * 1e6 / o_.rate);
        latency_us_.push_back(-1);
        status_.push_back(0);
        ++bucket(due).due;
        waiting_.push_back(next_due_++);
    }
    // Hand them to idle connections; open connections while the pool allows.
    while (!waiting_.empty()) {
        Conn* idle = nullptr;
        int opening = 0;
        for (auto& c : conns_) {
            if (c->fd >= 0 && c->connected && !c->busy) {
                idle = c.get();
                break;
            }
            if (c->fd >= 0 && !c->connected) ++opening;
        }
        if (!idle) {
            // A request waiting a connection: open one if fewer are opening than are waiting.
            if (opening < static_cast<int>(waiting_.size())) {
                for (auto& c : conns_)
                    if (c->fd < 0) {
                        open(c.get());
                        break;
                    }
            }
            return;
        }
        const std::size_t i = waiting_.front();
        waiting_.pop_front();
        const std::int64_t due = start_ + static_cast<std::int64_t>(i * 1e6 / o_.rate);
        if (t - due > o_.timeout_ms * 1000LL) {  // waited past its timeout already
            latency_us_[i] = -1;
            continue;
        }
        idle->request = i;
        idle->due_us = due;
        send_request(idle);
        if (idle->busy) idle->deadline = due + o_.timeout_ms * 1000LL;
    }
}

void Load::run() {
    start_ = now_us();
    start_realtime_ = now_us(CLOCK_REALTIME);
    end_ = start_ + static_cast<std::int64_t>(o_.duration_s * 1e6);
    if (o_.mode == "abuse") {
        for (int s = 0; s < o_.sources; ++s)
            for (int k = 0; k < o_.keepalive + o_.fresh; ++k) {
                auto c = std::make_unique<Conn>();
                c->source = s;
                c->fresh = k >= o_.keepalive;
                conns_.push_back(std::move(c));
            }
        for (auto& c : conns_) open(c.get());
    } else {
        for (int k = 0; k < o_.pool; ++k) conns_.push_back(std::make_unique<Conn>());
        latency_us_.reserve(static_cast<std::size_t>(o_.rate * o_.duration_s) + 16);
    }
    std::vector<epoll_event> events(1024);
    std::int64_t next_sweep = 0;
    for (;;) {
        std::int64_t t = now_us();
        if (t >= end_) break;
        int wait_ms = 5;
        if (o_.mode == "legit") {
            const std::int64_t next = start_ + static_cast<std::int64_t>(next_due_ * 1e6 / o_.rate);
            wait_ms = static_cast<int>(std::clamp<std::int64_t>((next - t) / 1000, 0, 5));
        }
        const int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), wait_ms);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; ++i) {
            Conn* c = static_cast<Conn*>(events[static_cast<std::size_t>(i)].data.ptr);
            if (c->fd < 0) continue;
            const std::uint32_t ev = events[static_cast<std::size_t>(i)].events;
            if (!c->connected && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) on_writable(c);
            if (c->fd >= 0 && c->connected && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))) on_readable(c);
        }
        t = now_us();
        if (o_.mode == "legit") pump_legit(t);
        if (t >= next_sweep) {  // timeouts, and reopening what failed to connect
            next_sweep = t + 2000;
            for (auto& c : conns_) {
                if (c->fd < 0) {
                    if (o_.mode == "abuse" && t >= c->deadline) open(c.get());
                    continue;
                }
                if ((!c->connected || c->busy) && t >= c->deadline) {
                    Bucket& b = bucket(t);
                    if (!c->connected)
                        ++b.connect_timeouts;
                    else
                        ++b.answer_timeouts;
                    if (o_.mode == "legit") request_failed(c.get());
                    drop(c.get(), o_.mode == "abuse");
                }
            }
        }
    }
    stopping_ = true;
    // Legit: requests still out or waiting count as failed (they were not answered in time only if
    // their timeout passed; those due in the last T ms are left out of the totals).
    for (auto& c : conns_) drop(c.get(), false);
}

void Load::write(std::FILE* f) {
    Bucket total;
    for (const Bucket& b : buckets_) {
        total.sent += b.sent;
        total.ok += b.ok;
        total.limited += b.limited;
        total.other_status += b.other_status;
        total.connects += b.connects;
        total.connect_timeouts += b.connect_timeouts;
        total.answer_timeouts += b.answer_timeouts;
        total.errors += b.errors;
    }
    std::fprintf(f,
                 "{\"mode\":\"%s\",\"start_realtime_us\":%lld,\"duration_s\":%.3f,\"bucket_ms\":%lld,"
                 "\"rate\":%g,\"timeout_ms\":%d,",
                 o_.mode.c_str(), static_cast<long long>(start_realtime_), (end_ - start_) / 1e6,
                 static_cast<long long>(kBucketUs / 1000), o_.rate, o_.timeout_ms);
    std::fprintf(f,
                 "\"sent\":%llu,\"ok\":%llu,\"limited\":%llu,\"other_status\":%llu,\"connects\":%llu,"
                 "\"connect_timeouts\":%llu,\"answer_timeouts\":%llu,\"errors\":%llu,",
                 (unsigned long long)total.sent, (unsigned long long)total.ok, (unsigned long long)total.limited,
                 (unsigned long long)total.other_status, (unsigned long long)total.connects,
                 (unsigned long long)total.connect_timeouts, (unsigned long long)total.answer_timeouts,
                 (unsigned long long)total.errors);
    std::fprintf(f, "\"timeline\":{\"answered\":[");
    for (std::size_t i = 0; i < buckets_.size(); ++i)
        std::fprintf(f, "%s%llu", i ? "," : "",
                     (unsigned long long)(buckets_[i].ok + buckets_[i].limited + buckets_[i].other_status));
    std::fprintf(f, "],\"connects\":[");
    for (std::size_t i = 0; i < buckets_.size(); ++i)
        std::fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)buckets_[i].connects);
    std::fprintf(f, "],\"due\":[");
    for (std::size_t i = 0; i < buckets_.size(); ++i)
        std::fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)buckets_[i].due);
    std::fprintf(f, "],\"succeeded\":[");
    for (std::size_t i = 0; i < buckets_.size(); ++i)
        std::fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)buckets_[i].succeeded);
    std::fprintf(f, "]}");
    if (o_.mode == "legit") {
        // Requests due so late that their timeout had not passed at the end are left out.
        const std::int64_t last_due = end_ - o_.timeout_ms * 1000LL;
        std::fprintf(f, ",\"latency_us\":[");
        bool first = true;
        for (std::size_t i = 0; i < latency_us_.size(); ++i) {
            const std::int64_t due = start_ + static_cast<std::int64_t>(i * 1e6 / o_.rate);
            if (due > last_due && latency_us_[i] < 0) continue;
            std::fprintf(f, "%s%lld", first ? "" : ",", static_cast<long long>(latency_us_[i]));
            first = false;
        }
        std::fprintf(f, "]");
    }
    std::fprintf(f, "}\n");
}

bool parse_addr(const char* s, sockaddr_in* out) {
    std::string text = s;
    const std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    out->sin_family = AF_INET;
    out->sin_port = htons(static_cast<std::uint16_t>(std::atoi(text.c_str() + colon + 1)));
    return inet_pton(AF_INET, text.substr(0, colon).c_str(), &out->sin_addr) == 1;
}

}  // namespace

int main(int argc, char** argv) {
    signal(SIGPIPE, SIG_IGN);
    Options o;
    if (argc < 2) {
        std::fprintf(stderr, "usage: attack_load abuse|legit --target IP:PORT --first-source IP ... --out FILE\n");
        return 2;
    }
    o.mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const char* v = argv[i + 1];
        if (k == "--target") {
            if (!parse_addr(v, &o.target)) {
                std::fprintf(stderr, "bad --target\n");
                return 2;
            }
        } else if (k == "--first-source") {
            if (inet_pton(AF_INET, v, &o.first_source) != 1) return 2;
        } else if (k == "--sources")
            o.sources = std::atoi(v);
        else if (k == "--keepalive")
            o.keepalive = std::atoi(v);
        else if (k == "--fresh")
            o.fresh = std::atoi(v);
        else if (k == "--rate")
            o.rate = std::atof(v);
        else if (k == "--duration")
            o.duration_s = std::atof(v);
        else if (k == "--timeout-ms")
            o.timeout_ms = std::atoi(v);
        else if (k == "--pool")
            o.pool = std::atoi(v);
        else if (k == "--out")
            o.out = v;
        else {
            std::fprintf(stderr, "attack_load: unknown option %s\n", k.c_str());
            return 2;
        }
    }
    if ((o.mode != "abuse" && o.mode != "legit") || o.out.empty() || (o.mode == "legit" && o.rate <= 0)) {
        std::fprintf(stderr, "attack_load: need abuse|legit, --out, and --rate for legit\n");
        return 2;
    }
    Load load(o);
    load.run();
    std::FILE* f = std::fopen(o.out.c_str(), "w");
    if (!f) die("open --out");
    load.write(f);
    std::fclose(f);
    return 0;
}
