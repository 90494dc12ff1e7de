#!/bin/bash
# Inside the VM (vm-test.service, after boot; the VM powers off when it ends):
# installs the package, sets up the network, the upstream and the test config,
# then runs every scenario and writes SHARE/results/NN-name.result (PASS or
# FAIL) and .log (its notes, and on FAIL the unit's journal) for the host.
#
#   runner.sh SHARE             the whole run
#   runner.sh SHARE SCENARIO    one scenario (how the whole run calls each)
set -euo pipefail

share=$1
results=$share/results
guest=$share/guest
# shellcheck source=vm-tests/guest/lib.sh
source "$guest/lib.sh"
# shellcheck source=vm-tests/guest/scenarios.sh
source "$guest/scenarios.sh"
# shellcheck source=/dev/null
source "$share/vm.env"

SCENARIO_TIMEOUT=180

say() { echo "vm-runner: $*"; }

# apt-get as a user would; the image holds the package's dependencies, so
# nothing needs downloading (the VM has no network, and apt no package lists).
install_package() {
  cp "$share/sluice.deb" /tmp/sluice.deb
  DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg::Use-Pty=0 /tmp/sluice.deb
}

nic_with_mac() {
  local dev
  for dev in /sys/class/net/*; do
    [ "$(cat "$dev/address")" = "$1" ] && basename "$dev" && return
  done
  return 1
}

# The server NIC becomes xdp0 (10.99.0.1); the client NIC goes into the
# `client` namespace as peer0 with 10.99.0.2 and one address per scenario.
# The qemu hub joins the two, so what peer0 sends enters xdp0's XDP hook.
setup_network() {
  local server client i
  server=$(nic_with_mac "$MAC_SERVER") || { say "no NIC with MAC $MAC_SERVER"; return 1; }
  client=$(nic_with_mac "$MAC_CLIENT") || { say "no NIC with MAC $MAC_CLIENT"; return 1; }
  ip link set "$server" down
  ip link set "$server" name "$NIC"
  ip addr add "$SERVER/24" dev "$NIC"
  ip link set "$NIC" up
  ip netns add client
  ip link set "$client" netns client
  ip -n client link set "$client" name peer0
  ip -n client addr add 10.99.0.2/24 dev peer0
  for i in $(seq "$CLIENT_FIRST" "$CLIENT_LAST"); do
    ip -n client addr add "10.99.0.$i/24" dev peer0
  done
  ip -n client link set lo up
  ip -n client link set peer0 up
  wait_for 10 in_client busybox ping -c 1 -W 1 "$SERVER" > /dev/null || { say "the client cannot reach $SERVER"; return 1; }
}

# The API server behind sluiced: busybox httpd serving fixed files.
start_upstream() {
  local path
  for path in v1/hello login p/x r/x ok; do
    mkdir -p "/srv/www/$(dirname "$path")"
    echo "upstream ok" > "/srv/www/$path"
  done
  systemd-run --unit=upstream --quiet busybox httpd -f -p 127.0.0.1:9000 -h /srv/www
  wait_for 10 curl -sf -o /dev/null http://127.0.0.1:9000/ok
}

install_config() {
  cp "$guest/sluice.json" /etc/sluice/sluice.json
  cp "$guest"/quotas.d/*.json /etc/sluice/quotas.d/
}

setup() {
  install_package
  setup_network
  start_upstream
  install_config
}

# One scenario in its own bash (errexit holds there, and a hung one is
# killed); its result and log go to the share.
run_scenario() {  # NUMBER NAME
  local base; base=$results/$(printf '%02d' "$1")-$2
  local started=$SECONDS since; since=$(date +%s)
  local status=0
  timeout --kill-after=5 "$SCENARIO_TIMEOUT" bash "$guest/runner.sh" "$share" "$2" > "$base.log" 2>&1 || status=$?
  [ "$status" -ne 124 ] || echo "FAIL: timed out after ${SCENARIO_TIMEOUT}s" >> "$base.log"
  if [ "$status" -eq 0 ]; then
    echo PASS > "$base.result"
  else
    # The unit's journal during this scenario (the earlier ones have their own).
    { echo "--- journalctl -u sluice -b --since @$since"; journalctl -u sluice -b --no-pager --since "@$since"; } >> "$base.log"
    echo FAIL > "$base.result"
  fi
  say "$(cat "$base.result") $2 ($((SECONDS - started))s)"
  return "$status"
}

# run.sh --only A,B leaves the list in SHARE/only; setup always runs.
selected() {
  [ -f "$share/only" ] || return 0
  [[ ",$(cat "$share/only")," == *",$1,"* ]]
}

main() {
  local booted; booted=$(cut -d' ' -f1 /proc/uptime)
  say "started ${booted}s after boot"
  local started=$SECONDS
  # In the background so that errexit holds inside (it is off under `if`).
  setup > "$results/setup.log" 2>&1 &
  if ! wait $!; then
    cp "$results/setup.log" "$results/00-setup.log"
    echo FAIL > "$results/00-setup.result"
    say "setup failed"
    cat "$results/setup.log"
  else
    local installed=$((SECONDS - started)) n=1 name
    for name in "${SCENARIOS[@]}"; do
      selected "$name" && { run_scenario "$n" "$name" || true; }
      n=$((n + 1))
    done
    echo "boot to runner ${booted}s, setup ${installed}s, scenarios $((SECONDS - started - installed))s" > "$results/timings"
  fi
  touch "$results/done"
  sync
}

if [ $# -ge 2 ]; then
  # Name the command that ended the scenario when no check did.
  set -E
  trap 'echo "FAIL: line $LINENO: \`$BASH_COMMAND\` exited $?"' ERR
  "scenario_${2//-/_}"
else
  main
fi
