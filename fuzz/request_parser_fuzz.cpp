// The client request parser (http/request_parser.h), as the proxy drives it:
// requests read one after another from one connection (pipelining), each
// with the proxy's bounds. Properties beyond "no crash, no sanitizer report":
// - the outcome does not depend on how the bytes arrive: the input fed
//   whole and fed in pieces (sizes from its first byte) gives the same
//   requests, the same refusal and the same reason;
// - a refused request carries a reason and a status the proxy answers with;
// - a parsed request's body is within max_body_bytes.
#include "http/request_parser.h"

#include "support/feed_in_pieces.h"

#include <boost/beast/http/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

namespace {

constexpr std::size_t kMaxHeaderBytes = 2048;  // small, so the bounds are reached often
constexpr std::uint64_t kMaxBodyBytes = 1024;

[[noreturn]] void fail(const char* what, const std::string& whole, const std::string& pieces) {
    std::fprintf(stderr, "%s\n--- fed whole:\n%s\n--- fed in pieces:\n%s\n", what, whole.c_str(), pieces.c_str());
    std::abort();
}

// What the proxy sees of one connection's bytes: each request (method,
// target, fields, body) until one is refused or the bytes end.
std::string read_all(std::string_view input, std::size_t piece) {
    std::ostringstream seen;
    std::string pending;  // the connection's read buffer
    std::size_t offset = 0;
    for (;;) {
        sluice::RequestParser parser(kMaxHeaderBytes, kMaxBodyBytes);
        const boost::beast::error_code ec = sluice::fuzz::feed_in_pieces(
            parser, pending, input, offset, piece, [&](boost::beast::error_code& end) { parser.put_eof(end); });
        if (ec) {
            if (ec.category() == sluice::request_error_category()) {
                const auto error = static_cast<sluice::RequestError>(ec.value());
                const unsigned status = sluice::status_of(error);
                if (parser.reason().empty() || status < 400 || status > 505) {
                    fail("a refusal without a reason or with an odd status", seen.str(), "");
                }
                seen << "refused " << status << ": " << parser.reason() << '\n';
            } else {
                seen << "ended: " << ec.message() << '\n';
            }
            return seen.str();
        }
        const sluice::Request& request = parser.get();
        if (request.body().size() > kMaxBodyBytes) {
            fail("a body over max_body_bytes was accepted", seen.str(), "");
        }
        seen << request.method_string() << ' ' << request.target() << ' ' << request.version() << '\n';
        for (const auto& field : request) {
            seen << field.name_string() << ": " << field.value() << '\n';
        }
        seen << "body " << request.body().size() << ": " << request.body() << '\n';
        if (!request.keep_alive() || (pending.empty() && offset == input.size())) {
            return seen.str();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t piece = 1 + data[0] % 64;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::string whole = read_all(input, input.size() + 1);
    const std::string pieces = read_all(input, piece);
    if (whole != pieces) fail("the outcome depends on how the bytes arrive", whole, pieces);
    return 0;
}
