// A UDP flooder for the netns tests:
//   udp_flood --source IP --dest IP:PORT --count N [--size BYTES]
// sends N datagrams of BYTES payload (default 64) as fast as it can from a
// socket bound to --source, then prints one line to stdout:
//   sent N elapsed SECONDS
// Exits 0 when every datagram was sent, 1 on a send error, 2 on bad usage.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

int usage(const char* problem) {
    std::fprintf(stderr, "udp_flood: %s\nusage: udp_flood --source IP --dest IP:PORT --count N [--size BYTES]\n",
                 problem);
    return 2;
}

template <class T>
bool parse_number(std::string_view text, T& value) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc() && end == text.data() + text.size();
}

// IPv4 and IPv6 ("[::1]:80" or "::1:80" is ambiguous, so IPv6 needs brackets).
bool parse_address(std::string_view host, std::uint16_t port, sockaddr_storage& out, socklen_t& length) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const std::string text(host);
    std::memset(&out, 0, sizeof out);
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
    if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        length = sizeof *v4;
        return true;
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
    if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        length = sizeof *v6;
        return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    std::string source;
    std::string dest;
    unsigned long count = 0;
    std::size_t size = 64;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (i + 1 == argc) return usage("every option needs a value");
        const std::string_view value = argv[++i];
        if (arg == "--source") {
            source = value;
        } else if (arg == "--dest") {
            dest = value;
        } else if (arg == "--count") {
            if (!parse_number(value, count)) return usage("--count needs a number");
        } else if (arg == "--size") {
            if (!parse_number(value, size) || size > 65'000) return usage("--size needs a number up to 65000");
        } else {
            return usage("unknown option");
        }
    }
    if (source.empty() || dest.empty() || count == 0) return usage("--source, --dest and --count are required");

    const std::size_t colon = dest.rfind(':');
    std::uint16_t port = 0;
    if (colon == std::string::npos || !parse_number(std::string_view(dest).substr(colon + 1), port))
        return usage("--dest needs IP:PORT");
    sockaddr_storage to{};
    socklen_t to_length = 0;
    sockaddr_storage from{};
    socklen_t from_length = 0;
    if (!parse_address(std::string_view(dest).substr(0, colon), port, to, to_length))
        return usage("--dest has no valid IP");
    if (!parse_address(source, 0, from, from_length) || from.ss_family != to.ss_family)
        return usage("--source needs an IP of the same family as --dest");

    const int fd = socket(to.ss_family, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&from), from_length) != 0) {
        std::fprintf(stderr, "udp_flood: socket/bind %s: %s\n", source.c_str(), std::strerror(errno));
        return 1;
    }

    // Unconnected sendto: an ICMP port unreachable coming back must not turn
    // into ECONNREFUSED on the next send.
    const std::vector<char> payload(size, 'x');
    unsigned long sent = 0;
    int status = 0;
    const auto start = std::chrono::steady_clock::now();
    while (sent < count) {
        if (sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), to_length) < 0) {
            if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) continue;  // local queue full: retry
            std::fprintf(stderr, "udp_flood: sendto: %s\n", std::strerror(errno));
            status = 1;
            break;
        }
        ++sent;
    }
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    close(fd);
    std::printf("sent %lu elapsed %.6f\n", sent, elapsed.count());
    return status;
}
