#include "store/redis_handle.h"

#include "common/log.h"
#include "redis/command.h"
#include "store/redis_quota_call.h"
#include "store/redis_store.h"

#include <utility>  // before Asio (GCC 12)

#include <boost/asio/steady_timer.hpp>
#include <boost/container/small_vector.hpp>

namespace sluice {
namespace {

// Redirects and TRYAGAIN retries one call follows before it gives up.
constexpr int kMaxRedirects = 5;
constexpr int kMaxRetries = 50;
constexpr auto kTryAgainDelay = std::chrono::milliseconds(2);

// ASKING goes ahead of a call sent to a slot's importing node; its +OK
// tells nothing.
class Ignored final : public RedisReplyHandler {
public:
    void on_reply(RedisReplyPtr) override {}
    void on_failure(std::string_view) override {}
};
Ignored ignored;

std::string asking_command() {
    std::string command;
    append_command(command, {"ASKING"});
    return command;
}

bool is_tryagain(const redisReply& reply) { return is_error(reply) && reply_text(reply).starts_with("TRYAGAIN"); }

}  // namespace

// One slot's share of a request: the checks whose keys are in that slot, as
// one script call (all of a request's checks, with one Redis). Later, maybe,
// the refund of what it consumed when another slot refused the request.
class RedisHandle::Part final : public RedisReplyHandler {
public:
    enum class State { pending, admitted, refused, failed, refunding, done };

    Part(RedisHandle& owner, Call& call) : owner_(owner), call_(call), retry_(owner.io_) {}

    void start(std::uint16_t slot, Nanos now) {
        slot_ = slot;
        now_ = now;
        checks_.clear();
        indices_.clear();
        state_ = State::pending;
        by_ = ScriptBy::digest;
        redirects_ = retries_ = 0;
    }
    void add(std::size_t index, const QuotaCheck& check) {
        indices_.push_back(index);
        checks_.push_back(check);
    }
    void send() { send_to(owner_.router_.for_slot(slot_)); }

    // Gives back what an admitted part consumed: the request was refused by
    // another slot, or answered unavailable before this part's answer came.
    void refund() {
        refunded_.clear();
        for (std::size_t i = 0; i < checks_.size(); ++i)
            if (results_[i].evaluation.allowed) refunded_.push_back(checks_[i]);
        state_ = State::refunding;
        by_ = ScriptBy::digest;
        redirects_ = retries_ = 0;
        if (refunded_.empty()) {
            state_ = State::done;
            return;
        }
        send();
    }

    void on_reply(RedisReplyPtr reply) override;
    void on_failure(std::string_view reason) override { settle(State::failed, reason); }

    State state() const { return state_; }
    bool busy() const { return busy_; }
    std::uint16_t slot() const { return slot_; }
    const std::string& failure() const { return failure_; }
    // Its results into the request's, at the checks' places.
    void scatter(std::span<CheckResult> results) const {
        for (std::size_t i = 0; i < indices_.size(); ++i) results[indices_[i]] = results_[i];
    }
    void remember_refusals(RefusalCache& cache) const {
        for (std::size_t i = 0; i < checks_.size(); ++i)
            if (checks_[i].enforce && !results_[i].evaluation.allowed)
                cache.remember(checks_[i].key, results_[i].evaluation, now_);
    }

private:
    void send_to(RedisConnection& connection) {
        busy_ = true;
        to_ = &connection;
        command_.clear();
        if (state_ == State::refunding) {
            append_refund_call(command_, by_, owner_.settings_.key_prefix, owner_.settings_.clock,
                               {refunded_.data(), refunded_.size()}, now_);
        } else {
            append_quota_call(command_, by_, owner_.settings_.key_prefix, owner_.settings_.clock,
                              {checks_.data(), checks_.size()}, now_);
            RedisStoreStats::count(owner_.stats_.round_trips);
        }
        connection.send(command_, *this);
    }

    // A redirect, NOSCRIPT or TRYAGAIN: sent again; false when the reply is final.
    bool sent_again(const redisReply& reply) {
        if (is_noscript(reply) && by_ == ScriptBy::digest) {  // Redis restarted or its scripts were flushed
            by_ = ScriptBy::text;
            send_to(*to_);
            return true;
        }
        if (is_tryagain(reply) && retries_++ < kMaxRetries) {  // the slot's keys are being migrated
            busy_ = true;
            retry_.expires_after(kTryAgainDelay);
            retry_.async_wait([this](const boost::system::error_code& error) {
                if (!error) send();
            });
            return true;
        }
        const std::optional<Redirect> redirect = is_error(reply) ? parse_redirect(reply_text(reply)) : std::nullopt;
        if (!redirect || redirects_++ >= kMaxRedirects) return false;
        RedisConnection& next = owner_.router_.redirected(*redirect, *to_);
        if (redirect->kind == Redirect::Kind::moved) {
            owner_.router_.moved(*redirect, *to_);
        } else {
            static const std::string asking = asking_command();
            next.send(asking, ignored);
        }
        send_to(next);
        return true;
    }

    // The answer to the script call, or the end of the refund.
    void settle(State state, std::string_view reason = {});

    RedisHandle& owner_;
    Call& call_;
    boost::asio::steady_timer retry_;
    std::uint16_t slot_ = 0;
    Nanos now_ = 0;
    boost::container::small_vector<std::size_t, 4> indices_;  // in the request's checks
    boost::container::small_vector<QuotaCheck, 4> checks_;
    boost::container::small_vector<CheckResult, 4> results_;
    boost::container::small_vector<QuotaCheck, 4> refunded_;
    std::string command_;
    RedisConnection* to_ = nullptr;
    State state_ = State::done;
    ScriptBy by_ = ScriptBy::digest;
    int redirects_ = 0;
    int retries_ = 0;
    bool busy_ = false;
    std::string failure_;

    friend class Call;
};

// One request: its parts (one per slot its keys are in), the deadline, and
// the answer once every part has one.
class RedisHandle::Call {
public:
    explicit Call(RedisHandle& owner) : owner_(owner), deadline_(owner.io_) {}

    void start(std::span<const QuotaCheck> checks, Nanos now, std::span<CheckResult> results, StoreWaiter& waiter) {
        results_ = results;
        waiter_ = &waiter;
        sent_at_ = owner_.clock_.now();
        forgets_ = owner_.forgets_;
        used_ = 0;
        for (std::size_t i = 0; i < checks.size(); ++i) {
            const std::uint16_t slot = owner_.router_.cluster() ? state_key_slot(checks[i].identity) : 0;
            Part* part = nullptr;
            for (std::size_t p = 0; p < used_ && !part; ++p)
                if (parts_[p]->slot() == slot) part = parts_[p].get();
            if (!part) {
                if (used_ == parts_.size()) parts_.push_back(std::make_unique<Part>(owner_, *this));
                part = parts_[used_++].get();
                part->start(slot, now);
            }
            part->add(i, checks[i]);
        }
        for (std::size_t p = 0; p < used_; ++p) {
            parts_[p]->results_.assign(parts_[p]->checks_.size(), CheckResult{});
            parts_[p]->send();
        }
        deadline_.expires_after(std::chrono::nanoseconds(owner_.settings_.timeout));
        deadline_.async_wait([this, round = ++rounds_](const boost::system::error_code& error) {
            // A deadline cancelled after it had fired still runs: the round tells.
            if (!error && round == rounds_ && waiter_) missed_deadline();
        });
    }

    // A part has its answer; the request has its own once every part has.
    void part_answered() {
        const auto parts = std::span(parts_).first(used_);
        for (const auto& part : parts)
            if (part->state() == Part::State::pending) return;
        deadline_.cancel();
        const Part* failed = nullptr;
        bool admitted = true;
        for (const auto& part : parts) {
            if (part->state() == Part::State::failed) failed = part.get();
            admitted = admitted && part->state() == Part::State::admitted;
        }
        // Nothing of an unanswered or refused request stays consumed.
        if (!admitted || !waiter_)
            for (const auto& part : parts)
                if (part->state() == Part::State::admitted) part->refund();
        if (waiter_) answer(failed, admitted);
        part_settled();
    }

    // Releases the call once no part has anything out.
    void part_settled() {
        if (waiter_) return;
        for (const auto& part : std::span(parts_).first(used_))
            if (part->busy() || part->state() == Part::State::pending) return;
        owner_.calls_.give_back(*this);
    }

private:
    void answer(const Part* failed, bool admitted) {
        if (failed) {
            RedisStoreStats::count(owner_.stats_.errors);
            owner_.failed(failed->failure());
            return resume(StoreReply::unavailable);
        }
        owner_.stats_.latency.record(owner_.clock_.now() - sent_at_);
        owner_.succeeded();
        const bool unblocked_since = owner_.forgets_ != forgets_;
        for (const auto& part : std::span(parts_).first(used_)) {
            part->scatter(results_);
            if (!unblocked_since) part->remember_refusals(owner_.refusals_);
        }
        resume(admitted ? StoreReply::admitted : StoreReply::refused);
    }

    // The request goes on without the store; the parts stay until Redis
    // answers them (and what they consumed is given back).
    void missed_deadline() {
        RedisStoreStats::count(owner_.stats_.timeouts);
        owner_.failed("no answer within store.timeout");
        resume(StoreReply::unavailable);
    }

    void resume(StoreReply reply) {
        StoreWaiter& waiter = *std::exchange(waiter_, nullptr);
        waiter.resume(reply);
    }

    RedisHandle& owner_;
    boost::asio::steady_timer deadline_;
    std::uint64_t rounds_ = 0;
    std::vector<std::unique_ptr<Part>> parts_;  // kept for reuse
    std::size_t used_ = 0;
    std::span<CheckResult> results_;
    StoreWaiter* waiter_ = nullptr;  // null once the request has its answer
    Nanos sent_at_ = 0;
    std::uint64_t forgets_ = 0;  // the handle's when the call started
};

void RedisHandle::Part::settle(State state, std::string_view reason) {
    busy_ = false;
    if (state_ == State::refunding) {
        if (state == State::failed)
            log(LogLevel::warning, "store: a refund was lost (%.*s): the keys count one request too many",
                static_cast<int>(reason.size()), reason.data());
        state_ = State::done;
        return call_.part_settled();
    }
    state_ = state;
    failure_ = reason;
    call_.part_answered();
}

void RedisHandle::Part::on_reply(RedisReplyPtr reply) {
    busy_ = false;
    if (sent_again(*reply)) return;
    if (state_ == State::refunding) return settle(State::done);
    const Checked<StoreReply> answer = read_quota_reply(*reply, {results_.data(), results_.size()});
    if (!answer.ok()) return settle(State::failed, answer.error());
    settle(answer.value() == StoreReply::admitted ? State::admitted : State::refused);
}

RedisHandle::RedisHandle(boost::asio::io_context& io, const RedisStoreSettings& settings, RedisStoreStats& stats,
                         const Clock& clock)
    : io_(io),
      settings_(settings),
      stats_(stats),
      clock_(clock),
      router_(io, settings),
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
    calls_.take(*this).start(checks, now, results, waiter);
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
    log(LogLevel::notice, "store: %s answers again; asking it again", describe(settings_).c_str());
}

void RedisHandle::failed(std::string_view reason) {
    const bool opened = breaker_.failed(clock_.now());
    // A blackholed connection holds its calls forever: start afresh when the
    // breaker opens, and after every probe that failed (or the next probe
    // would queue behind it, and never reach a Redis that is back).
    if (breaker_.state() == CircuitBreaker::State::open) router_.close_all();
    if (!opened) return;
    RedisStoreStats::count(stats_.breaker_opens);
    stats_.open_breakers.fetch_add(1);
    log(LogLevel::warning, "store: %s failed %d times in a row (last: %.*s); store.on_error answers until it is back",
        describe(settings_).c_str(), settings_.failures_to_open, static_cast<int>(reason.size()), reason.data());
}

}  // namespace sluice
