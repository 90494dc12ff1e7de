#include "proxy/http_io.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace sluice {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

net::awaitable<beast::error_code> read_request(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                               RequestParser& parser) {
    beast::error_code ec;
    co_await http::async_read_header(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    if (ec || parser.is_done()) co_return ec;
    const auto& request = parser.get();
    if (request.version() >= 11 && beast::iequals(request[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, 11};
        co_await http::async_write(stream, go_on, net::redirect_error(net::use_awaitable, ec));
        if (ec) co_return ec;
    }
    co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    co_return ec;
}

net::awaitable<void> close_gracefully(beast::tcp_stream& stream, std::chrono::seconds timeout, std::size_t max_bytes) {
    beast::error_code ec;
    stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    stream.expires_after(timeout);
    char sink[16 * 1024];
    for (std::size_t discarded = 0; !ec && discarded < max_bytes;)
        discarded += co_await stream.async_read_some(net::buffer(sink), net::redirect_error(net::use_awaitable, ec));
}

}  // namespace sluice
