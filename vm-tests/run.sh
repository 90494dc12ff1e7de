#!/usr/bin/env bash
# `make vm-test`: boots a small Debian VM under qemu, installs the Sluice
# package in it as a user would, and runs the systemd scenarios there
# (vm-tests/README.md).
#
#   vm-tests/run.sh --build DIR --deb PATH [--timeout SECONDS] [--accel kvm|tcg]
#                   [--only SCENARIO,...]
#
# The root filesystem is built once with debootstrap and cached in DIR/vm/image;
# each run boots a throwaway qcow2 overlay on it. Prints `PASS name` or
# `FAIL name` per scenario (with the journal of failing ones) and
# `N passed, N failed`; exits non-zero on any failure or on a timeout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
log() { echo "vm-test: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=vm-tests/lib/image.sh
source "$here/lib/image.sh"
# shellcheck source=vm-tests/lib/qemu.sh
source "$here/lib/qemu.sh"

usage() { die "usage: vm-tests/run.sh --build DIR --deb PATH [--timeout SECONDS] [--accel kvm|tcg] [--only SCENARIO,...]"; }

build='' deb='' timeout=900 accel='' only=''
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=${2:?}; shift 2 ;;
    --deb) deb=${2:?}; shift 2 ;;
    --timeout) timeout=${2:?}; shift 2 ;;
    --accel) accel=${2:?}; shift 2 ;;
    --only) only=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
if [ -z "$build" ] || [ -z "$deb" ]; then usage; fi

require_host() {
  # debootstrap and the image's root-owned files need root; asked for
  # explicitly (make vm-test), so no silent skip.
  [ "$(id -u)" -eq 0 ] || die "needs root (debootstrap builds the guest's root filesystem); run it as root"
  local tool missing=()
  for tool in debootstrap qemu-system-x86_64 qemu-img mkfs.ext4 dpkg-deb; do
    command -v "$tool" > /dev/null || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}: run scripts/install-deps.sh --vm"
  [ -f "$deb" ] || die "no package at $deb (make package builds it)"
}

# The run's folder: the overlay, the console log and the 9p share holding the
# guest scripts, the package and, afterwards, the results.
prepare_run() {
  rm -rf "$run"
  mkdir -p "$run/share/results"
  cp -r "$here/guest" "$run/share/guest"
  cp "$deb" "$run/share/sluice.deb"
  # What the guest must know of the host's side: which NIC is which.
  printf 'MAC_SERVER=%s\nMAC_CLIENT=%s\n' "$QEMU_MAC_SERVER" "$QEMU_MAC_CLIENT" > "$run/share/vm.env"
  [ -z "$only" ] || echo "$only" > "$run/share/only"
  qemu-img create -q -f qcow2 -b "$cache/base.img" -F raw "$run/overlay.qcow2"
}

qemu_pid=
stop_qemu() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2> /dev/null && wait "$qemu_pid" 2> /dev/null
  qemu_pid=
  return 0
}
trap stop_qemu EXIT
trap 'exit 130' INT TERM

# Boots and waits for the guest to power off, or kills it at the timeout.
boot() {
  log "booting ($accel, $QEMU_CPUS CPUs, $QEMU_MEMORY; timeout ${timeout}s); console: $run/console.log"
  local qemu_cmd
  qemu_command "$cache" "$run/overlay.qcow2" "$run/share" "$run/console.log" "$accel"
  "${qemu_cmd[@]}" 2> "$run/qemu.log" &
  qemu_pid=$!
  local deadline=$((SECONDS + timeout))
  while kill -0 "$qemu_pid" 2> /dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      stop_qemu
      log "timeout: the VM did not finish in ${timeout}s; console tail:"
      tail -n 40 "$run/console.log" >&2
      return 1
    fi
    sleep 1
  done
  local status=0
  wait "$qemu_pid" || status=$?
  qemu_pid=
  [ "$status" -eq 0 ] || {
    log "qemu exited with $status: $(cat "$run/qemu.log"); console tail:"
    tail -n 40 "$run/console.log" >&2
    return 1
  }
}

# One line per scenario, the log of failing ones, a total; fails without the
# runner's closing file (it did not get to the end). BOOTED is boot's status:
# when it failed, it already showed the console.
report() {
  local booted=$1 results=$run/share/results passed=0 failed=0 f name verdict
  for f in "$results"/*.result; do
    [ -e "$f" ] || break
    name=$(basename "$f" .result)
    name=${name#*-}
    verdict=$(cat "$f")
    echo "$verdict $name"
    if [ "$verdict" = PASS ]; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      sed 's/^/    /' "${f%.result}.log"
    fi
  done
  [ -f "$results/setup.log" ] && [ ! -f "$results/done" ] && sed 's/^/    setup: /' "$results/setup.log"
  [ -f "$results/timings" ] && log "$(cat "$results/timings")"
  echo "$passed passed, $failed failed"
  if [ ! -f "$results/done" ]; then
    log "the runner did not finish"
    [ "$booted" -ne 0 ] || tail -n 40 "$run/console.log" >&2
    return 1
  fi
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

main() {
  require_host
  mkdir -p "$build/vm"
  build=$(cd "$build" && pwd)
  cache=$build/vm/image
  run=$build/vm/run
  local started=$SECONDS
  local depends extra
  mapfile -t depends < <(deb_depends "$deb")
  mapfile -t extra < <(image_extra_packages "${depends[@]}")
  image_ensure "$build/vm" "${extra[@]}"
  prepare_run
  [ -n "$accel" ] || accel=$(qemu_accel "$cache/vmlinuz")
  local booted=$SECONDS status=0
  boot || status=$?
  log "VM ran $((SECONDS - booted))s; total $((SECONDS - started))s"
  report "$status" || status=1
  return "$status"
}

main
