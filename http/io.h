// Reading HTTP messages and closing a connection the careful way, for both
// HTTP servers of sluiced (the proxy with its TimedSocket, the admin API with
// Beast's tcp_stream) and the proxy's upstream side.
#pragma once

#include <utility>  // before awaitable.hpp, which uses std::exchange without it (Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/request_parser.h"

#include <chrono>
#include <cstddef>
#include <string_view>

namespace sluice {

namespace detail {

template <class Stream>
using TaskOf = boost::asio::awaitable<boost::beast::error_code, typename Stream::executor_type>;

template <class Stream>
auto redirect_to(boost::beast::error_code& ec) {
    return boost::asio::redirect_error(boost::asio::use_awaitable_t<typename Stream::executor_type>{}, ec);
}

// Feeds the parser what `buffer` holds and reads more until `done(parser)`:
// what Beast's http::async_read does, without its layers of composed
// operations. The same errors: end_of_stream when the peer closes before a
// byte of the message, partial_message when it closes within one.
template <class Stream, class Parser, class Done>
TaskOf<Stream> read_until(Stream& stream, boost::beast::flat_buffer& buffer, Parser& parser, Done done) {
    namespace http = boost::beast::http;
    boost::beast::error_code ec;
    while (!done(parser)) {
        if (buffer.size() > 0) {
            const std::size_t used = parser.put(buffer.data(), ec);
            buffer.consume(used);
            if (ec && ec != http::error::need_more) co_return ec;
            if (!ec && used > 0) continue;
            ec = {};
        }
        const std::size_t size = boost::beast::read_size(buffer, 65536);
        if (size == 0) co_return http::error::buffer_overflow;
        const std::size_t n = co_await stream.async_read_some(buffer.prepare(size), redirect_to<Stream>(ec));
        buffer.commit(n);
        if (ec == boost::asio::error::eof) {
            if (!parser.got_some()) co_return http::error::end_of_stream;
            ec = {};
            parser.put_eof(ec);
            co_return ec;
        }
        if (ec) co_return ec;
    }
    co_return ec;
}

}  // namespace detail

// Reads one whole message (e.g. an upstream's response, or a request's body
// after its header) within the stream's deadline.
template <class Stream, class Parser>
detail::TaskOf<Stream> read_message(Stream& stream, boost::beast::flat_buffer& buffer, Parser& parser) {
    parser.eager(true);
    return detail::read_until(stream, buffer, parser, [](const Parser& p) { return p.is_done(); });
}

// Reads one whole request within the stream's deadline, answering
// "Expect: 100-continue" before the body is read.
template <class Stream>
detail::TaskOf<Stream> read_request(Stream& stream, boost::beast::flat_buffer& buffer, RequestParser& parser) {
    namespace http = boost::beast::http;
    boost::beast::error_code ec =
        co_await detail::read_until(stream, buffer, parser, [](const RequestParser& p) { return p.is_header_done(); });
    if (ec || parser.is_done()) co_return ec;
    const auto& request = parser.get();
    if (request.version() >= 11 && boost::beast::iequals(request[http::field::expect], "100-continue")) {
        static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
        co_await boost::asio::async_write(stream, boost::asio::buffer(go_on.data(), go_on.size()),
                                          detail::redirect_to<Stream>(ec));
        if (ec) co_return ec;
    }
    co_return co_await detail::read_until(stream, buffer, parser, [](const RequestParser& p) { return p.is_done(); });
}

// Closing a socket with unread input resets the connection, and the reset can
// destroy our last answer before the client reads it (e.g. a 413 sent while
// the body still arrives). So: end our side, read and discard what the client
// still sends (up to `max_bytes`, within `timeout`), then let it close.
template <class Stream>
boost::asio::awaitable<void, typename Stream::executor_type> close_gracefully(Stream& stream,
                                                                              std::chrono::seconds timeout,
                                                                              std::size_t max_bytes) {
    boost::beast::error_code ec;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    stream.expires_after(timeout);
    char sink[16 * 1024];
    for (std::size_t discarded = 0; !ec && discarded < max_bytes;)
        discarded += co_await stream.async_read_some(boost::asio::buffer(sink), detail::redirect_to<Stream>(ec));
}

}  // namespace sluice
