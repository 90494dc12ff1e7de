// Turns fuzz input bytes into Ethernet frames for the XDP program: each frame
// is either described (VLAN tags, IPv4 or IPv6 with options, extension
// headers and fragments, TCP/UDP/other, fields made wrong, a cut at any
// byte) or, when its first byte is 0xe0 or more, taken raw. Sources are
// drawn from a small pool the caller gives, so list and table hits happen.
// Bytes run out as zeros, so every input decodes to something.
#pragma once

#include "common/cidr.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sluice::fuzz {

using Frame = std::vector<std::uint8_t>;

// At most `max_frames` frames, each at least an Ethernet header long
// (BPF_PROG_RUN refuses less).
std::vector<Frame> decode_frames(std::span<const std::uint8_t> input, std::span<const IpAddress> sources,
                                 std::size_t max_frames);

}  // namespace sluice::fuzz
