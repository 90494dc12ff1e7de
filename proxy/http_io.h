// Reading a request and closing a connection the careful way, for both HTTP
// servers of sluiced (the proxy and the admin API).
#pragma once

#include <utility>  // before awaitable.hpp, which uses std::exchange without it (Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>

namespace sluice {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Reads one whole request within the stream's current expiry, answering
// "Expect: 100-continue" before the body is read.
boost::asio::awaitable<boost::beast::error_code> read_request(boost::beast::tcp_stream& stream,
                                                              boost::beast::flat_buffer& buffer, RequestParser& parser);

// Closing a socket with unread input resets the connection, and the reset can
// destroy our last answer before the client reads it (e.g. a 413 sent while
// the body still arrives). So: end our side, read and discard what the client
// still sends (up to `max_bytes`, within `timeout`), then let it close.
boost::asio::awaitable<void> close_gracefully(boost::beast::tcp_stream& stream, std::chrono::seconds timeout,
                                              std::size_t max_bytes);

}  // namespace sluice
