# Helpers of the scenarios (sourced inside the VM). Every target address is
# the server's 10.99.0.1 or the admin API on 127.0.0.1, both inside the VM.

SERVER=10.99.0.1
PORT=8080
CONFIG=/etc/sluice/sluice.json
NIC=xdp0
# The client namespace owns 10.99.0.2 and these: each scenario sends from its
# own address, so a block or a spent quota of one never touches another.
CLIENT_FIRST=10
CLIENT_LAST=30

fail() { echo "FAIL: $*"; exit 1; }
note() { echo "  $*"; }

expect_eq() {  # ACTUAL EXPECTED WHAT
  [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
  note "$3: $1"
}

expect_match() {  # TEXT REGEX WHAT
  [[ $1 =~ $2 ]] || fail "$3: '$1' does not match /$2/"
  note "$3: ok"
}

in_client() { ip netns exec client "$@"; }

# GET from source SRC; prints the status code; headers and body land in
# /tmp/http.headers and /tmp/http.body for the checks that follow.
http_get() {  # SRC PATH [curl options]
  local src=$1 path=$2; shift 2
  in_client curl -s --interface "$src" --max-time 10 -o /tmp/http.body -D /tmp/http.headers \
    -w '%{http_code}' "$@" "http://$SERVER:$PORT$path" || true
}

# A header of the last response, without its CR.
header() { sed -n "s/^$1: *//Ip" /tmp/http.headers | tr -d '\r' | head -n1; }

# Packets counted under REASON (passed, rate_dropped, blocked, ...) on the NIC,
# read from the pinned maps as `sluiced --xdp-stats` prints them.
xdp_count() {  # REASON
  sluiced --config "$CONFIG" --xdp-stats | awk -v r="$1" '$1 == r { print $2; exit }'
}

# The id of the XDP program on the NIC in native mode, empty when none (or
# when it is only attached in generic mode).
xdp_prog_id() {
  ip -d link show dev "$NIC" | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -n1
}

xdp_mode() {  # xdp, xdpgeneric, xdpoffload or none
  local mode
  mode=$(ip link show dev "$NIC" | head -n1 | grep -o ' xdp[a-z]* ' | tr -d ' ' || true)
  echo "${mode:-none}"
}

# UDP packets to the proxy's port from SRC (hping3 spoofs the source, which is
# one of the client namespace's own addresses). Prints how many it sent.
# hping3 exits 1 when nothing answered, which is what a drop looks like.
flood() {  # SRC COUNT INTERVAL_US
  { in_client hping3 --udp -a "$1" -p "$PORT" -c "$2" -i "u$3" -q "$SERVER" 2>&1 || true; } |
    sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p'
}

main_pid() { systemctl show -p MainPID --value sluice; }
n_restarts() { systemctl show -p NRestarts --value sluice; }

# Starts sluice with the test config unless it is already active.
sluice_up() {
  systemctl is-active -q sluice || systemctl start sluice || fail "systemctl start sluice failed"
}

# Waits until COMMAND succeeds, at most SECONDS (polling every 0.2 s).
wait_for() {  # SECONDS COMMAND...
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

journal_since() {  # CURSOR_FILE: the unit's journal after the cursor
  journalctl -u sluice --no-pager --after-cursor="$(cat "$1")"
}
journal_mark() {  # CURSOR_FILE
  journalctl -u sluice -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p' > "$1"
}

# Commands run when the scenario ends, passed or failed, so that what it
# changed (a config file, a drop-in) never leaks into the next one.
cleanups=()
on_exit() { cleanups+=("$*"); trap run_cleanups EXIT; }
run_cleanups() {
  local i
  for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do eval "${cleanups[$i]}" || true; done
}

# Ends the TCP connections of client SRC on both sides. Once SRC is blocked
# at the NIC, a connection of its left half-closed would go on retransmitting
# (and counting as blocked) for minutes.
forget_connections() {  # SRC
  in_client ss -K -t state all src "$1" > /dev/null
  ss -K -t state all dst "$1" > /dev/null
}
