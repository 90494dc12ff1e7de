// Addresses and CIDR blocks (common/cidr.h): trusted proxies, and the XDP
// allow/deny lists later. Properties:
// - an address's text parses back to the same address, and that text is
//   canonical (written again, it is the same text);
// - a parsed block has no host bits, a prefix within 0..128 (IPv4 ones as
//   IPv4-mapped, >= 96), contains its own network, and its text parses back
//   to the same block;
// - contains() agrees with a bit-by-bit reference for an address taken from
//   the input;
// - a block made from the input's bytes parses from its text, and the same
//   text with a host bit set is refused (a typo cannot widen a block).
#include "common/cidr.h"

#include "support/fuzz_check.h"
#include "support/input_split.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

using sluice::fuzz::check;

bool bit(const sluice::IpAddress& ip, unsigned i) { return (ip.bytes[i / 8] >> (7 - i % 8)) & 1; }

bool contains_reference(const sluice::Cidr& block, const sluice::IpAddress& ip) {
    for (unsigned i = 0; i < block.prefix; ++i)
        if (bit(block.network, i) != bit(ip, i)) return false;
    return true;
}

sluice::IpAddress address_from(sluice::fuzz::InputReader& reader) {
    sluice::IpAddress ip;
    const bool v4 = reader.byte() & 1;
    for (std::size_t i = v4 ? 12 : 0; i < 16; ++i) ip.bytes[i] = reader.byte();
    if (v4) ip.bytes[10] = ip.bytes[11] = 0xff;
    return ip;
}

void check_address(const sluice::IpAddress& ip) {
    const std::string text = ip.to_string();
    const std::optional<sluice::IpAddress> again = sluice::parse_ip(text);
    check(again && *again == ip, "an address's text parses to another address", text);
    check(again->to_string() == text, "an address's text is not canonical", text);
}

void check_block(const sluice::Cidr& block, const sluice::IpAddress& probe, std::string_view origin) {
    const std::string text = block.to_string();
    const std::string detail = std::string(origin) + " -> " + text + " probe " + probe.to_string();
    check(block.prefix <= 128, "a prefix over 128 bits", detail);
    for (unsigned i = block.prefix; i < 128; ++i) check(!bit(block.network, i), "a block with host bits", detail);
    check(block.contains(block.network), "a block does not contain its own network", detail);
    check(block.contains(probe) == contains_reference(block, probe), "contains() disagrees with the bits", detail);
    const std::optional<sluice::Cidr> again = sluice::parse_cidr(text);
    check(again && *again == block, "a block's text parses to another block", detail);
}

// The block of `ip`'s first `bits` bits, as an operator would write it.
std::string block_text(const sluice::IpAddress& ip, unsigned bits) {
    const bool v4 = ip.is_v4();
    return ip.to_string() + "/" + std::to_string(v4 ? bits - 96 : bits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sluice::fuzz::InputReader reader(data, size);
    const sluice::IpAddress probe = address_from(reader);
    sluice::IpAddress made = address_from(reader);
    const std::uint8_t prefix_byte = reader.byte();
    const std::string_view text = reader.rest();

    check_address(probe);
    if (const std::optional<sluice::IpAddress> ip = sluice::parse_ip(text)) check_address(*ip);
    if (const std::optional<sluice::Cidr> block = sluice::parse_cidr(text)) check_block(*block, probe, text);

    // A block from the input's bytes: host bits cleared, it must parse.
    const unsigned bits = made.is_v4() ? 96 + prefix_byte % 33 : prefix_byte % 129;
    sluice::IpAddress network = made;
    for (unsigned i = bits; i < 128; ++i) network.bytes[i / 8] &= static_cast<std::uint8_t>(~(0x80 >> (i % 8)));
    const std::optional<sluice::Cidr> block = sluice::parse_cidr(block_text(network, bits));
    check(block && block->network == network && block->prefix == bits, "a well-formed block is refused or changed",
          block_text(network, bits));
    check_block(*block, probe, block_text(network, bits));
    if (bits < 128) {
        sluice::IpAddress with_host_bit = network;
        with_host_bit.bytes[15] |= 1;
        check(!sluice::parse_cidr(block_text(with_host_bit, bits)), "a block with host bits set is accepted",
              block_text(with_host_bit, bits));
    }
    return 0;
}
