// A ControlPlane wired as sluiced wires it (a limiter over a key store, a
// block list, a clock that does not move), started on `config`: for the
// targets that drive the control plane, through the admin API or through
// its state files.
#pragma once

#include "control/control_plane.h"
#include "limit/block_list.h"
#include "limit/limiter.h"
#include "store/local_store.h"
#include "support/stopped_clock.h"

#include <cstddef>
#include <memory>
#include <vector>

namespace sluice::fuzz {

struct ControlPlaneRig {
    ControlPlaneRig(const Config& config, std::size_t max_blocks) : blocks(max_blocks) {
        limiter.set_block_list(&blocks);
        control.start(config);
    }

    StoppedClock clock;
    LocalStore store{64};
    Limiter limiter{std::make_shared<const Policy>(std::vector<Quota>{}, HeaderStyle::draft), store, clock,
                    KeyedHasher(1, 2)};
    BlockList blocks;
    ControlPlane control{limiter, blocks, nullptr, clock};
};

}  // namespace sluice::fuzz
