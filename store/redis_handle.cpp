#include "store/redis_handle.h"

#include "common/log.h"
#include "store/redis_quota_call.h"
#include "store/redis_store.h"

#include <utility>  // before Asio (GCC 12)

#include <boost/asio/steady_timer.hpp>

namespace sluice {

// One request's script call, from its sending until Redis answers it. The
// waiter is resumed at the deadline if Redis has not answered by then.
class RedisHandle::Call final : public RedisReplyHandler {
public:
    explicit Call(RedisHandle& owner) : owner_(owner), deadline_(owner.io_) {}

    void start(std::span<const QuotaCheck> checks, Nanos now, std::span<CheckResult> results, StoreWaiter& waiter) {
        checks_ = checks;
        results_ = results;
        now_ = now;
        waiter_ = &waiter;
        reloaded_ = false;
        sent_at_ = owner_.clock_.now();
        send(ScriptBy::digest);
        deadline_.expires_after(std::chrono::nanoseconds(owner_.settings_.timeout));
        deadline_.async_wait([this, round = ++rounds_](const boost::system::error_code& error) {
            // A deadline cancelled after it had fired still runs: the round tells.
            if (!error && round == rounds_ && waiter_) missed_deadline();
        });
    }

    void on_reply(RedisReplyPtr reply) override {
        if (!waiter_) return owner_.release(*this);  // answered after its deadline: nobody waits
        if (is_noscript(*reply) && !reloaded_) {     // Redis restarted or its scripts were flushed
            reloaded_ = true;
            return send(ScriptBy::text);
        }
        deadline_.cancel();
        owner_.stats_.latency.record(owner_.clock_.now() - sent_at_);
        const Checked<StoreReply> answer = read_quota_reply(*reply, results_);
        if (!answer.ok()) return fail(answer.error());
        owner_.succeeded();
        for (std::size_t i = 0; i < checks_.size(); ++i)
            if (checks_[i].enforce && !results_[i].evaluation.allowed)
                owner_.refusals_.remember(checks_[i].key, results_[i].evaluation, now_);
        finish(answer.value());
    }

    void on_failure(std::string_view reason) override {
        if (!waiter_) return owner_.release(*this);
        deadline_.cancel();
        fail(reason);
    }

private:
    void send(ScriptBy by) {
        command_.clear();
        append_quota_call(command_, by, owner_.settings_.key_prefix, owner_.settings_.clock, checks_, now_);
        RedisStoreStats::count(owner_.stats_.round_trips);
        owner_.connection_->send(command_, *this);
    }

    void fail(std::string_view reason) {
        RedisStoreStats::count(owner_.stats_.errors);
        owner_.failed(reason);
        finish(StoreReply::unavailable);
    }

    // The request goes on without the store; this call stays busy until
    // Redis answers it or the connection fails.
    void missed_deadline() {
        RedisStoreStats::count(owner_.stats_.timeouts);
        StoreWaiter& waiter = *std::exchange(waiter_, nullptr);
        owner_.failed("no answer within store.timeout");
        waiter.resume(StoreReply::unavailable);
    }

    void finish(StoreReply reply) {
        StoreWaiter& waiter = *std::exchange(waiter_, nullptr);
        owner_.release(*this);
        waiter.resume(reply);
    }

    RedisHandle& owner_;
    boost::asio::steady_timer deadline_;
    std::uint64_t rounds_ = 0;
    std::string command_;
    std::span<const QuotaCheck> checks_;
    std::span<CheckResult> results_;
    Nanos now_ = 0;
    Nanos sent_at_ = 0;
    StoreWaiter* waiter_ = nullptr;  // null once the request has its answer
    bool reloaded_ = false;
};

RedisHandle::RedisHandle(boost::asio::io_context& io, const RedisStoreSettings& settings, RedisStoreStats& stats,
                         const Clock& clock)
    : io_(io),
      settings_(settings),
      stats_(stats),
      clock_(clock),
      connection_(RedisConnection::create(io, settings.endpoint, settings.password,
                                          std::chrono::nanoseconds(settings.timeout))),
      breaker_(settings.failures_to_open, settings.probe_interval),
      refusals_(settings.refusal_cache_keys) {}

RedisHandle::~RedisHandle() {
    if (breaker_.state() != CircuitBreaker::State::closed) stats_.open_breakers.fetch_sub(1);
}

std::optional<StoreReply> RedisHandle::acquire(std::span<const QuotaCheck> checks, Nanos now,
                                               std::span<CheckResult> results, StoreWaiter& waiter) {
    if (refused_from_cache(checks, now, results)) return StoreReply::refused;
    if (!breaker_.allows(now)) {
        RedisStoreStats::count(stats_.breaker_refusals);
        return StoreReply::unavailable;
    }
    if (idle_.empty()) {
        calls_.push_back(std::make_unique<Call>(*this));
        idle_.push_back(calls_.back().get());
    }
    Call& call = *idle_.back();
    idle_.pop_back();
    call.start(checks, now, results, waiter);
    return std::nullopt;
}

bool RedisHandle::refused_from_cache(std::span<const QuotaCheck> checks, Nanos now, std::span<CheckResult> results) {
    for (std::size_t i = 0; i < checks.size(); ++i) {
        if (!checks[i].enforce) continue;
        const std::optional<Evaluation> refused = refusals_.find(checks[i].key, now);
        if (!refused) continue;
        for (CheckResult& r : results) {
            r = CheckResult{};
            r.skipped = true;
        }
        results[i].skipped = false;
        results[i].evaluation = *refused;
        RedisStoreStats::count(stats_.cache_refusals);
        return true;
    }
    return false;
}

void RedisHandle::succeeded() {
    if (!breaker_.succeeded()) return;
    stats_.open_breakers.fetch_sub(1);
    log(LogLevel::notice, "store: Redis %s answers again; asking it again", describe(settings_.endpoint).c_str());
}

void RedisHandle::failed(std::string_view reason) {
    if (!breaker_.failed(clock_.now())) return;
    RedisStoreStats::count(stats_.breaker_opens);
    stats_.open_breakers.fetch_add(1);
    log(LogLevel::warning,
        "store: Redis %s failed %d times in a row (last: %.*s); store.on_error answers until it is back",
        describe(settings_.endpoint).c_str(), settings_.failures_to_open, static_cast<int>(reason.size()),
        reason.data());
    // A blackholed connection holds its calls forever: start afresh.
    connection_->close();
}

}  // namespace sluice
