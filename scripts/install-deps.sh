#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only those missing,
# so `make run` and `make test` work on a fresh machine. The tests run real
# upstream stacks (Python's servers, Flask, Node, nginx) behind sluiced, and the
# Redis store's tests a real redis-server (and Redis Cluster); the fleet's netns
# tests cut a host off from Redis with nftables. With --bench, also the
# peers and tools `make bench` runs (load generator, proxies, nftables, plots);
# with --vm, what `make vm-test` needs (debootstrap, qemu). `make package`
# needs dpkg-dev, which build-essential brings. With --fuzz, clang 14 and its
# libFuzzer runtime for `make fuzz`.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libboost-dev nlohmann-json3-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  curl
  libhiredis-dev libssl-dev redis-server redis-tools
  python3 python3-flask nodejs nginx-light
  clang clang-format-14 llvm libbpf-dev bpftool libelf-dev zlib1g-dev linux-libc-dev iproute2 nftables
)
case "${1:-}" in
  --bench) packages+=(wrk haproxy ethtool jq gettext-base procps gnuplot-nox python3 util-linux) ;;
  --vm) packages+=(debootstrap qemu-system-x86 qemu-utils e2fsprogs) ;;
  --fuzz) packages+=(clang-14 libclang-rt-14-dev ccache) ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
else
  sudo=
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
