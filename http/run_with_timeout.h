// A blocking client's step (connect, write, read) with a timeout, which
// Beast's synchronous calls lack: the asynchronous operation runs to
// completion on the client's own io_context. Shared by sluicectl and the
// tests' HTTP client.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <optional>

namespace sluice {

// Returns the step's error. After a failure the connection and what was
// buffered from it are dropped, so the next request starts on a new one.
template <class Start>
boost::beast::error_code run_with_timeout(boost::asio::io_context& ioc, std::optional<boost::beast::tcp_stream>& stream,
                                          boost::beast::flat_buffer& buffer,
                                          std::chrono::steady_clock::duration timeout, Start start) {
    boost::beast::error_code result;
    stream->expires_after(timeout);
    start([&result](boost::beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    if (result) {
        stream.reset();
        buffer.clear();
    }
    return result;
}

}  // namespace sluice
