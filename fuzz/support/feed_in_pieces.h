// Feeds a connection's bytes to a Beast-style parser (put / put_eof /
// is_done) as the proxy's reads would: `piece` bytes at a time into
// `pending` (the connection's read buffer, which keeps what one message
// leaves for the next), starting at `offset` in `input`. Stops when the
// parser is done, fails, or the input ends; then `at_end(ec)` says what the
// end of the bytes means to this parser. Returns the error, if any.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace sluice::fuzz {

template <class Parser, class AtEnd>
boost::beast::error_code feed_in_pieces(Parser& parser, std::string& pending, std::string_view input,
                                        std::size_t& offset, std::size_t piece, AtEnd at_end) {
    boost::beast::error_code ec;
    while (!parser.is_done()) {
        if (!pending.empty()) {
            const std::size_t used = parser.put(boost::asio::buffer(pending), ec);
            pending.erase(0, used);
            if (ec && ec != boost::beast::http::error::need_more) return ec;
            if (!ec && used > 0) continue;
            ec = {};
        }
        if (offset == input.size()) {
            at_end(ec);
            return ec;
        }
        const std::size_t n = std::min(piece, input.size() - offset);
        pending.append(input.substr(offset, n));
        offset += n;
    }
    return ec;
}

}  // namespace sluice::fuzz
