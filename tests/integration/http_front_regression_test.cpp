// The HTTP front against what an attacker sends, one row per finding: what
// the client gets and what the upstream received (a recording upstream logs
// every request it parsed). A refused request never reaches the upstream, a
// smuggled one never appears, and a forwarded one is counted by the quota
// of the route the upstream sees.
#include "harness.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <csignal>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <atomic>
#include <functional>
#include <thread>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// Quotas told apart by their limits: the RateLimit-Limit of an answer names
// the quota that counted it.
nlohmann::json front_config() {
    return {
        {"trusted_proxies", {"127.0.0.0/8"}},
        {"quotas",
         {{{"name", "exchange"}, {"path", "/v1/auth/exchange"}, {"method", "POST"}, {"rate", 7}, {"interval", "1m"}},
          {{"name", "keyed"}, {"path", "/keys/*"}, {"key", "header:X-API-Key"}, {"rate", 5}, {"interval", "1m"}},
          {{"name", "ip"}, {"path", "/ip/*"}, {"rate", 3}, {"interval", "1m"}},
          {{"name", "rest"}, {"path", ""}, {"rate", 1000}, {"interval", "1m"}}}},
        {"limits", {{"max_header_bytes", 4096}, {"max_body_bytes", 65536}, {"client_timeout", "1s"}}}};
}

// sluiced in front of tests/support/recording_upstream.py.
class RecordedFront {
public:
    explicit RecordedFront(nlohmann::json config, std::vector<std::string> upstream_flags = {})
        : sluice_(std::move(config), Deployment::Upstream::absent),
          log_(sluice_.dir().path() / "upstream.jsonl") {
        std::vector<std::string> args = {SLUICE_SOURCE_DIR "/tests/support/recording_upstream.py", "--port",
                                         std::to_string(sluice_.upstream_port()), "--log", log_.string()};
        args.insert(args.end(), upstream_flags.begin(), upstream_flags.end());
        upstream_ = std::make_unique<ChildProcess>("/usr/bin/python3", args);
        if (!upstream_->wait_for_stderr("recording_upstream: listening", 10s))
            throw std::runtime_error("recording_upstream did not start: " + upstream_->stderr_text());
    }

    Deployment& sluice() { return sluice_; }

    // Every request the upstream parsed so far, in order.
    std::vector<nlohmann::json> received() const {
        std::vector<nlohmann::json> out;
        std::ifstream in(log_);
        for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
        return out;
    }

private:
    Deployment sluice_;
    std::filesystem::path log_;
    std::unique_ptr<ChildProcess> upstream_;
};

// A header field as the upstream received it; "" when absent.
std::string field(const nlohmann::json& request, const std::string& name) {
    for (const auto& pair : request["headers"])
        if (strcasecmp(pair[0].get<std::string>().c_str(), name.c_str()) == 0) return pair[1];
    return "";
}

bool has_field(const nlohmann::json& request, const std::string& name) {
    for (const auto& pair : request["headers"])
        if (strcasecmp(pair[0].get<std::string>().c_str(), name.c_str()) == 0) return true;
    return false;
}

std::string answer_field(const std::string& answer, const std::string& name) {
    const std::size_t at = answer.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "";
    const std::size_t from = at + name.size() + 4;
    return answer.substr(from, answer.find("\r\n", from) - from);
}

struct Row {
    const char* name;
    std::string request;  // sent as it is, on a new connection
    int status;
    std::string limit;  // RateLimit-Limit of the answer (the quota that counted it); "" when none
    std::string body;   // part of the answer's body; "" for any
    // What the upstream received of this request: nothing when empty.
    std::function<void(const nlohmann::json&)> upstream;
};

const std::string kChunked = "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";

std::vector<Row> rows() {
    return {
        // Finding 2: unbounded chunk extensions and trailers.
        {"HugeChunkExtensionRefused",
         "POST /x HTTP/1.1\r\nHost: a\r\n" + kChunked + "1;" + std::string(200000, 'e') + "\r\nx\r\n0\r\n\r\n",
         400,
         "",
         "chunk line longer than 4096 bytes",
         {}},
        {"HugeTrailerSectionRefused",
         "POST /x HTTP/1.1\r\nHost: a\r\n" + kChunked + "1\r\nx\r\n0\r\nX-T: " + std::string(200000, 't') + "\r\n\r\n",
         431,
         "",
         "trailer section exceeds 4096 bytes",
         {}},
        // Finding 3: trailers never become header fields.
        {"TrailersNeverBecomeHeaders",
         "POST /x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 198.51.100.7\r\n" + kChunked +
             "5\r\nhello\r\n0\r\nHost: evil\r\nAuthorization: Bearer stolen\r\nX-Forwarded-For: 10.9.9.9\r\n\r\n",
         200, "1000", "",
         [](const nlohmann::json& r) {
             EXPECT_EQ(r["body"], "hello");
             EXPECT_EQ(field(r, "Host"), "a");
             EXPECT_FALSE(has_field(r, "Authorization"));
             EXPECT_EQ(field(r, "X-Forwarded-For"), "198.51.100.7, 127.0.0.1");
         }},
        // Finding 4: a Transfer-Encoding not exactly understood is refused, and
        // the body behind it is never read as a second request.
        {"UnknownCodingNotSmuggled",
         "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
         501,
         "",
         "transfer coding \\\"xchunked\\\" is not supported",
         {}},
        {"ChunkedIdentityNotSmuggled",
         "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: "
         "a\r\n\r\n",
         501,
         "",
         "transfer coding \\\"identity\\\" is not supported",
         {}},
        {"FoldedTransferEncodingNotSmuggled",
         "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\nGET /smuggled "
         "HTTP/1.1\r\nHost: a\r\n\r\n",
         400,
         "",
         "obsolete line folding in the header",
         {}},
        {"ChunkedWithLengthNotSmuggled",
         "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled "
         "HTTP/1.1\r\nHost: a\r\n\r\n",
         400,
         "",
         "both Transfer-Encoding and Content-Length",
         {}},
        // Finding 5: what the upstream routes is what the quota counts.
        {"AbsoluteFormCountsItsPath",
         "POST http://api.example/v1/auth/exchange HTTP/1.1\r\nHost: other\r\nContent-Length: 0\r\nConnection: "
         "close\r\n\r\n",
         200, "7", "",
         [](const nlohmann::json& r) {
             EXPECT_EQ(r["method"], "POST");
             EXPECT_EQ(r["target"], "/v1/auth/exchange");
             EXPECT_EQ(field(r, "Host"), "api.example");
         }},
        {"LowerCaseMethodRefused",
         "post /v1/auth/exchange HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
         400,
         "",
         "method \\\"post\\\" is not an upper-case token",
         {}},
        {"EncodedSlashCounted",
         "POST /v1/auth%2Fexchange HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 200, "7", "",
         [](const nlohmann::json& r) { EXPECT_EQ(r["target"], "/v1/auth%2Fexchange"); }},
        {"TrailingSlashCounted",
         "POST /v1/auth/exchange/ HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 200, "7", "",
         [](const nlohmann::json& r) { EXPECT_EQ(r["target"], "/v1/auth/exchange/"); }},
        {"PathParameterCounted",
         "POST /v1/auth;jsessionid=1/exchange HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
         200, "7", "", [](const nlohmann::json& r) { EXPECT_EQ(r["target"], "/v1/auth;jsessionid=1/exchange"); }},
        {"OtherCaseCounted",
         "POST /V1/Auth/EXCHANGE HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 200, "7", "",
         [](const nlohmann::json& r) { EXPECT_EQ(r["target"], "/V1/Auth/EXCHANGE"); }},
        {"UnderscoreTwinDropped",
         "GET /keys/a HTTP/1.1\r\nHost: a\r\nX_API_KEY: other\r\nX-API-Key: mine\r\nConnection: close\r\n\r\n", 200,
         "5", "",
         [](const nlohmann::json& r) {
             EXPECT_FALSE(has_field(r, "X_API_KEY"));
             EXPECT_EQ(field(r, "X-API-Key"), "mine");
         }},
        {"SecondApiKeyRefused",
         "GET /keys/a HTTP/1.1\r\nHost: a\r\nX-API-Key: one\r\nX-API-Key: two\r\n\r\n",
         400,
         "",
         "more than one x-api-key header field",
         {}},
        {"SecondAuthorizationRefused",
         "GET /x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer one\r\nAuthorization: Bearer two\r\n\r\n",
         400,
         "",
         "more than one Authorization header field",
         {}},
        // Finding 6: framing rules of RFC 9112.
        {"TwoHostsRefused",
         "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
         400,
         "",
         "more than one Host header field",
         {}},
        {"NoHostRefused", "GET /x HTTP/1.1\r\n\r\n", 400, "", "an HTTP/1.1 request needs a Host header field", {}},
        {"ConnectRefused",
         "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
         400,
         "",
         "CONNECT is not supported",
         {}},
        {"LeadingEmptyLineIgnored", "\r\nGET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200, "1000", "",
         [](const nlohmann::json& r) { EXPECT_EQ(r["target"], "/x"); }},
        {"Http2VersionRefused", "GET /x HTTP/2.0\r\nHost: a\r\n\r\n", 505, "", "HTTP version 2.0 is not supported", {}},
    };
}

class HttpFront : public ::testing::TestWithParam<Row> {};

TEST_P(HttpFront, RefusesOrCountsWhatTheUpstreamRoutes) {
    const Row& row = GetParam();
    RecordedFront front(front_config());
    const RawExchange exchange = raw_exchange(front.sluice().port(), row.request);
    EXPECT_TRUE(exchange.closed);
    ASSERT_TRUE(exchange.received.starts_with("HTTP/1.1 " + std::to_string(row.status) + " ")) << exchange.received;
    EXPECT_EQ(answer_field(exchange.received, "RateLimit-Limit"), row.limit) << exchange.received;
    if (!row.body.empty()) {
        EXPECT_NE(exchange.received.find(row.body), std::string::npos) << exchange.received;
    }
    const std::vector<nlohmann::json> received = front.received();
    if (!row.upstream) {
        EXPECT_TRUE(received.empty()) << received.front().dump();
    } else {
        ASSERT_EQ(received.size(), 1u);
        row.upstream(received.front());
    }
    EXPECT_EQ(front.sluice().stop_sluiced(), 0);
}

INSTANTIATE_TEST_SUITE_P(Findings, HttpFront, ::testing::ValuesIn(rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return std::string(info.param.name); });

// Finding 3, the identity half: a trailer X-Forwarded-For behind a trusted
// proxy does not choose the key a client_ip quota counts.
TEST(HttpFrontIdentity, ATrailerDoesNotChooseTheClient) {
    RecordedFront front(front_config());
    const RawExchange first =
        raw_exchange(front.sluice().port(), "POST /ip/a HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 198.51.100.7\r\n" +
                                                kChunked + "1\r\nx\r\n0\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n");
    EXPECT_EQ(answer_field(first.received, "RateLimit-Remaining"), "2") << first.received;
    HttpClient client = front.sluice().client();
    const HttpResponse same = client.get("/ip/a", {{"X-Forwarded-For", "198.51.100.7"}});
    EXPECT_EQ(header(same, "RateLimit-Remaining"), "1") << "counted as 198.51.100.7 both times";
    const HttpResponse trailer_ip = client.get("/ip/a", {{"X-Forwarded-For", "203.0.113.9"}});
    EXPECT_EQ(header(trailer_ip, "RateLimit-Remaining"), "2") << "203.0.113.9 was never counted";
    EXPECT_EQ(front.sluice().stop_sluiced(), 0);
}

// Finding 9: SIGHUP applies trusted_proxies to X-Forwarded-For, and
// path_matching with it.
TEST(HttpFrontReload, TrustedProxiesAndPathMatchingApplyOnSighup) {
    nlohmann::json config = front_config();
    config.erase("trusted_proxies");
    config["path_matching"] = {{"case_insensitive", false}};
    RecordedFront front(config);
    Deployment& sluice = front.sluice();
    HttpClient client = sluice.client();
    const Headers forwarded = {{"X-Forwarded-For", "198.51.100.7"}};
    EXPECT_EQ(header(client.get("/ip/a", forwarded), "RateLimit-Remaining"), "2") << "counted as 127.0.0.1";
    EXPECT_EQ(header(client.request("POST", "/V1/AUTH/EXCHANGE"), "RateLimit-Limit"), "1000") << "case tells apart";

    config["trusted_proxies"] = {"127.0.0.0/8"};
    config["path_matching"] = {{"case_insensitive", true}};
    sluice.write_config(config);
    sluice.sluiced().send_signal(SIGHUP);
    ASSERT_TRUE(sluice.sluiced().wait_for_stderr("reloaded", 5s)) << sluice.sluiced().stderr_text();
    EXPECT_EQ(header(client.get("/ip/a", forwarded), "RateLimit-Remaining"), "2") << "counted as 198.51.100.7 now";
    EXPECT_EQ(header(client.get("/ip/a"), "RateLimit-Remaining"), "1") << "127.0.0.1 itself, once more";
    EXPECT_EQ(header(client.request("POST", "/V1/AUTH/EXCHANGE"), "RateLimit-Limit"), "7");
    EXPECT_EQ(sluice.stop_sluiced(), 0);
}

// Finding 1: an upstream that writes a second, unrequested response after a
// keep-alive answer. Each client gets the answer to its own request.
TEST(HttpFrontPool, ALateSecondResponseNeverReachesAnotherClient) {
    RecordedFront front(front_config(), {"--late-response"});
    for (int i = 1; i <= 20; ++i) {
        HttpClient client = front.sluice().client();
        const HttpResponse response = client.get("/pool/" + std::to_string(i));
        ASSERT_EQ(response.result_int(), 200);
        EXPECT_EQ(nlohmann::json::parse(response.body()), (nlohmann::json{{"request", i}})) << "request " << i;
        std::this_thread::sleep_for(100ms);  // the stray answer arrives on the idle connection
    }
    EXPECT_EQ(front.received().size(), 20u);
    EXPECT_EQ(front.sluice().stop_sluiced(), 0);
}

// The same class on the upstream's side: its trailer fields never become
// header fields of the answer, and a chunk line longer than the parser may
// hold fails the exchange (502) instead of growing memory.
TEST(HttpFrontUpstream, TrailersAndLongChunkLinesFromTheUpstream) {
    RecordedFront front(front_config());
    HttpClient client = front.sluice().client();
    const HttpResponse trailer = client.get("/trailer");
    EXPECT_EQ(trailer.result_int(), 200);
    EXPECT_EQ(trailer.body(), "hello");
    EXPECT_EQ(header(trailer, "X-Trailer"), "");
    EXPECT_EQ(header(trailer, "Trailer"), "") << "hop-by-hop";

    const HttpResponse long_line = client.get("/chunk-extension/1000000");
    EXPECT_EQ(long_line.result_int(), 502);
    EXPECT_EQ(front.sluice().stop_sluiced(), 0);
}

// A /proc/PID/status figure of the process, in KiB.
std::size_t status_kib(pid_t pid, const std::string& name) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(name + ":")) return std::stoul(line.substr(name.size() + 1));
    return 0;
}

// Sends `head`, then `filler` bytes of 'e' as fast as sluiced takes them (it
// stops taking them once it has refused), then reads the answer.
std::string hostile(std::uint16_t port, const std::string& head, std::size_t filler) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string answer;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
        const timeval timeout{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
        const std::string block(64 * 1024, 'e');
        for (std::size_t sent = 0; sent < filler;) {
            const ssize_t n = ::send(fd, block.data(), std::min(block.size(), filler - sent), MSG_NOSIGNAL);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
        }
        char buffer[4096];
        for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
            answer.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return answer;
}

// Finding 2, measured: one request used to grow sluiced by its whole chunk
// extension (200 MB for 200 MB). 60 hostile connections at once, 8 MB each
// offered, now cost sluiced a few MiB at most.
TEST(HttpFrontMemory, HostileRequestsDoNotGrowMemory) {
    RecordedFront front(front_config());
    const pid_t pid = front.sluice().sluiced().pid();
    const std::uint16_t port = front.sluice().port();
    HttpClient(port).get("/warm-up");
    const std::size_t baseline = status_kib(pid, "VmRSS");
    const std::string heads[] = {
        "POST /x HTTP/1.1\r\nHost: a\r\n" + kChunked + "1;",                    // an endless chunk extension
        "POST /x HTTP/1.1\r\nHost: a\r\n" + kChunked + "1\r\nx\r\n0\r\nX-T: ",  // an endless trailer
        "GET /x HTTP/1.1\r\nHost: a\r\nX-H: ",                                  // an endless header
    };
    std::vector<std::thread> clients;
    std::atomic<int> refused{0};
    for (int i = 0; i < 60; ++i) {
        clients.emplace_back([&, i] {
            const std::string answer = hostile(port, heads[i % 3], 8 << 20);
            if (answer.starts_with("HTTP/1.1 400 ") || answer.starts_with("HTTP/1.1 431 ")) ++refused;
        });
    }
    for (std::thread& client : clients) client.join();
    EXPECT_EQ(refused.load(), 60);
    const std::size_t peak = status_kib(pid, "VmHWM");
    EXPECT_LT(peak, baseline + 32 * 1024) << "baseline " << baseline << " KiB, peak " << peak << " KiB";
    EXPECT_TRUE(front.received().size() == 1) << "only the warm-up reached the upstream";
    EXPECT_EQ(front.sluice().stop_sluiced(), 0);
}

// Finding 7: client_timeout bounds a stall in reading, not a long download.
TEST(HttpFrontSlowReader, ADownloadReadSlowlyButSteadilyIsWhole) {
    nlohmann::json config = front_config();
    config["limits"]["client_timeout"] = "500ms";
    RecordedFront front(config);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const int small = 16 * 1024;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(front.sluice().port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    const std::string request = "GET /big/6000000 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
    std::size_t total = 0;
    const auto start = std::chrono::steady_clock::now();
    char chunk[16 * 1024];
    for (;;) {
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        total += static_cast<std::size_t>(n);
        std::this_thread::sleep_for(5ms);  // about 3 MB/s at most: the whole answer takes longer than 500 ms
    }
    ::close(fd);
    EXPECT_GT(std::chrono::steady_clock::now() - start, 1s);
    const std::size_t head = 200;  // status line and fields, about
    EXPECT_GT(total, 6000000u);
    EXPECT_LT(total, 6000000u + head * 5);
    EXPECT_EQ(front.sluice().stop_sluiced(), 0);
}

}  // namespace
}  // namespace sluice::test
