#include "redis/blocking_client.h"

#include "common/duration.h"
#include "redis/command.h"

#include <stdexcept>

namespace sluice {

namespace {

// Takes the one call of a command and stops the loop that waits for it.
class Waiter final : public RedisReplyHandler {
public:
    explicit Waiter(boost::asio::io_context& ioc) : ioc_(ioc) {}

    void on_reply(RedisReplyPtr reply) override {
        reply_ = std::move(reply);
        done_ = true;
        ioc_.stop();
    }
    void on_failure(std::string_view reason) override {
        failure_ = reason;
        done_ = true;
        ioc_.stop();
    }

    bool done() const { return done_; }
    RedisReplyPtr& reply() { return reply_; }
    const std::string& failure() const { return failure_; }

private:
    boost::asio::io_context& ioc_;
    bool done_ = false;
    RedisReplyPtr reply_;
    std::string failure_;
};

}  // namespace

RedisBlockingClient::RedisBlockingClient(RedisEndpoint endpoint, std::string password,
                                         std::chrono::milliseconds connect_timeout)
    : connection_(RedisConnection::create(ioc_, std::move(endpoint), std::move(password), connect_timeout)) {}

RedisReplyPtr RedisBlockingClient::call(std::initializer_list<std::string_view> args,
                                        std::chrono::milliseconds timeout) {
    command_.clear();
    append_command(command_, args);
    return call_command(*args.begin(), command_, timeout);
}

RedisReplyPtr RedisBlockingClient::call_command(std::string_view name, std::string_view command,
                                                std::chrono::milliseconds timeout) {
    Waiter waiter(ioc_);
    connection_->send(command, waiter);
    ioc_.restart();
    ioc_.run_for(timeout);  // until the waiter stops it, or the time is up

    if (!waiter.done()) {
        connection_->close();
        ioc_.restart();
        ioc_.run();  // until the waiter has the failure close() posted: it must not outlive its call
        throw std::runtime_error("Redis " + std::string(name) + " to " + describe(connection_->endpoint()) +
                                 " got no answer within " + duration_text(timeout));
    }
    if (!waiter.reply()) throw std::runtime_error("Redis " + std::string(name) + " failed: " + waiter.failure());
    return std::move(waiter.reply());
}

}  // namespace sluice
