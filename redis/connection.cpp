#include "redis/connection.h"

#include "common/duration.h"
#include "redis/command.h"

#include <boost/asio/post.hpp>

#include <new>

namespace sluice {

namespace net = boost::asio;
using boost::system::error_code;
using tcp = net::ip::tcp;

std::shared_ptr<RedisConnection> RedisConnection::create(net::io_context& ioc, RedisEndpoint endpoint,
                                                         std::string password,
                                                         std::chrono::nanoseconds connect_timeout) {
    return std::shared_ptr<RedisConnection>(
        new RedisConnection(ioc, std::move(endpoint), std::move(password), connect_timeout));
}

RedisConnection::RedisConnection(net::io_context& ioc, RedisEndpoint endpoint, std::string password,
                                 std::chrono::nanoseconds connect_timeout)
    : ioc_(ioc),
      endpoint_(std::move(endpoint)),
      password_(std::move(password)),
      connect_timeout_(connect_timeout),
      socket_(ioc.get_executor()),
      resolver_(ioc.get_executor()),
      connect_timer_(ioc.get_executor()) {}

void RedisConnection::send(std::string_view command, RedisReplyHandler& handler) {
    if (state_ == State::closed) start_connect();
    output_ += command;
    handlers_.push_back(&handler);
    if (state_ == State::open && !write_in_flight_) start_write();
}

void RedisConnection::close() {
    RedisHandlerQueue failed = shut();
    if (failed.empty()) return;
    net::post(ioc_, [self = shared_from_this(), failed = std::move(failed),
                     reason = "connection to " + describe(endpoint_) + " closed"]() mutable {
        while (!failed.empty()) failed.pop_front()->on_failure(reason);
    });
}

bool RedisConnection::connected() const { return state_ == State::open && !awaiting_auth_ && !awaiting_select_; }

void RedisConnection::start_connect() {
    state_ = State::connecting;
    reader_.reset(redisReaderCreate());
    if (!reader_) throw std::bad_alloc();
    reader_->maxbuf = 0;  // keep its buffer when emptied, rather than free and allocate it again and again
    // Sent first, in the same write as the commands that follow.
    if (!password_.empty() || !endpoint_.user.empty()) {
        if (endpoint_.user.empty())
            append_command(output_, {"AUTH", password_});
        else
            append_command(output_, {"AUTH", endpoint_.user, password_});
        awaiting_auth_ = true;
    }
    if (endpoint_.db != 0) {
        append_command(output_, {"SELECT", std::to_string(endpoint_.db)});
        awaiting_select_ = true;
    }

    const unsigned generation = generation_;
    connect_timer_.expires_after(connect_timeout_);
    connect_timer_.async_wait([self = shared_from_this(), generation](const error_code& ec) {
        if (ec || generation != self->generation_ || self->connected()) return;
        const std::string prefix = "cannot connect to " + describe(self->endpoint_) + ": ";
        const std::string limit = duration_text(self->connect_timeout_);
        if (self->state_ == State::connecting) return self->fail(prefix + "timed out after " + limit);
        self->fail(prefix + "no answer to " + (self->awaiting_auth_ ? "AUTH" : "SELECT") + " within " + limit);
    });

    addresses_.clear();
    next_address_ = 0;
    error_code not_literal;
    const net::ip::address address = net::ip::make_address(endpoint_.host, not_literal);
    if (!not_literal) {
        addresses_.emplace_back(address, endpoint_.port);
        return connect_next({});
    }
    resolver_.async_resolve(
        endpoint_.host, std::to_string(endpoint_.port),
        [self = shared_from_this(), generation](const error_code& ec, const tcp::resolver::results_type& results) {
            if (generation != self->generation_) return;
            for (const auto& entry : results) self->addresses_.push_back(entry.endpoint());
            self->connect_next(ec);
        });
}

// Every step of connecting and writing is one operation that checks the
// generation when it ends. Composed operations (net::async_connect,
// net::async_write) would not: one that ended a step just before a close()
// would carry on with its next step on the socket of the next connection.
void RedisConnection::connect_next(const error_code& last_error) {
    if (next_address_ == addresses_.size())
        return fail("cannot connect to " + describe(endpoint_) + ": " + last_error.message());
    error_code ignored;
    socket_.close(ignored);  // from the address tried before
    socket_.async_connect(addresses_[next_address_++],
                          [self = shared_from_this(), generation = generation_](const error_code& ec) {
                              if (generation != self->generation_) return;
                              if (ec) return self->connect_next(ec);
                              self->on_connect();
                          });
}

void RedisConnection::on_connect() {
    error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);  // a command must not wait for the last one's reply
    state_ = State::open;
    if (connected()) connect_timer_.cancel();
    start_read();
    start_write();  // a send() started the connection, so there is something to write
}

void RedisConnection::start_write() {
    write_in_flight_ = true;
    std::swap(output_, writing_);  // output_ gets the empty buffer of the last write, with its capacity
    written_ = 0;
    write_rest();
}

void RedisConnection::write_rest() {
    socket_.async_write_some(
        net::buffer(writing_.data() + written_, writing_.size() - written_),
        [self = shared_from_this(), generation = generation_](const error_code& ec, std::size_t bytes) {
            if (generation != self->generation_) return;
            if (ec) return self->fail("connection to " + describe(self->endpoint_) + " lost: " + ec.message());
            self->written_ += bytes;
            if (self->written_ < self->writing_.size()) return self->write_rest();
            self->write_in_flight_ = false;
            self->writing_.clear();
            if (!self->output_.empty()) self->start_write();
        });
}

void RedisConnection::start_read() {
    socket_.async_read_some(net::buffer(read_buffer_), [self = shared_from_this(), generation = generation_](
                                                           const error_code& ec, std::size_t bytes) {
        if (generation != self->generation_) return;
        if (ec) return self->fail("connection to " + describe(self->endpoint_) + " lost: " + ec.message());
        self->on_read(bytes);
    });
}

void RedisConnection::on_read(std::size_t bytes) {
    const unsigned generation = generation_;
    const auto corrupt = [&] {
        fail("connection to " + describe(endpoint_) + " closed: the reply stream is corrupt: " + reader_->errstr);
    };
    if (redisReaderFeed(reader_.get(), read_buffer_.data(), bytes) != REDIS_OK) return corrupt();
    for (;;) {
        void* object = nullptr;
        if (redisReaderGetReply(reader_.get(), &object) != REDIS_OK) return corrupt();
        if (!object) break;  // the rest of the reply is still on its way
        RedisReplyPtr reply(static_cast<redisReply*>(object));
        if (awaiting_auth_ || awaiting_select_) {
            if (!take_setup_reply(*reply)) return;
            continue;
        }
        if (handlers_.empty())
            return fail("connection to " + describe(endpoint_) + " closed: a reply came that no command asked for");
        handlers_.pop_front()->on_reply(std::move(reply));
        if (generation != generation_) return;  // the handler closed the connection
    }
    start_read();
}

// The first replies of a connection answer AUTH and SELECT; false when one
// was an error, which failed the connection.
bool RedisConnection::take_setup_reply(const redisReply& reply) {
    const char* command = awaiting_auth_ ? "AUTH" : "SELECT";
    (awaiting_auth_ ? awaiting_auth_ : awaiting_select_) = false;
    if (is_error(reply)) {
        fail("cannot connect to " + describe(endpoint_) + ": " + command +
             " failed: " + std::string(reply_text(reply)));
        return false;
    }
    if (connected()) connect_timer_.cancel();
    return true;
}

RedisHandlerQueue RedisConnection::shut() {
    ++generation_;
    state_ = State::closed;
    awaiting_auth_ = awaiting_select_ = false;
    error_code ignored;
    socket_.close(ignored);  // what is in flight on it ends with operation_aborted
    resolver_.cancel();
    connect_timer_.cancel();
    output_.clear();
    writing_.clear();
    write_in_flight_ = false;
    return std::exchange(handlers_, {});
}

void RedisConnection::fail(const std::string& reason) {
    RedisHandlerQueue failed = shut();
    while (!failed.empty()) failed.pop_front()->on_failure(reason);
}

}  // namespace sluice
