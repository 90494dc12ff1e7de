// A store handle that asks a second store whenever the first cannot answer
// (store.on_error "local": the host's own counters stand in for the fleet's
// while the network store is unreachable). Neither store's state moves to
// the other: the fallback counts only what it admitted itself.
#pragma once

#include "limit/quota_store.h"
#include "store/reuse_pool.h"

#include <memory>

namespace sluice {

class FallbackStore final : public QuotaStoreHandle {
public:
    FallbackStore(std::shared_ptr<QuotaStoreHandle> primary, std::shared_ptr<QuotaStoreHandle> fallback);
    ~FallbackStore() override;

    std::optional<StoreReply> acquire(std::span<const QuotaCheck> checks, Nanos now, std::span<CheckResult> results,
                                      StoreWaiter& waiter) override;

private:
    class Call;

    std::shared_ptr<QuotaStoreHandle> primary_;
    std::shared_ptr<QuotaStoreHandle> fallback_;
    // A call's waiter must exist before the primary is asked (it may defer).
    ReusePool<Call> calls_;
};

}  // namespace sluice
