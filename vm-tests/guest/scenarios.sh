# The scenarios, in the order runner.sh runs them (SCENARIOS). Each runs in
# its own bash with `set -euo pipefail`; `fail` ends it. Each sends from its
# own client address and starts sluice if an earlier one left it stopped, so a
# failing scenario does not hide the others.

SCENARIOS=(
  package-install
  start-notify
  xdp-native
  hardening
  http-limited
  xdp-flood-dropped
  http-block-to-xdp
  reload-broken-quota-file
  restart-keeps-state
  upgrade-keeps-config
  stop-keeps-xdp
  stop-detaches-when-configured
  kill9-restarted
  watchdog-restarts-hung
)

# The package is installed by the runner's setup (it must be, before anything
# else); this checks that it put everything where the README says.
scenario_package_install() {
  local f
  for f in /usr/bin/sluiced /usr/bin/sluicectl /usr/lib/systemd/system/sluice.service \
           /etc/sluice/sluice.json /etc/sluice/quotas.d; do
    [ -e "$f" ] || fail "the package did not install $f"
    note "installed: $f"
  done
  dpkg -s sluice | grep -q '^Status: install ok installed' || fail "dpkg does not list sluice as installed"
  sluiced --config "$CONFIG" --check || fail "the test config does not pass --check"
}

scenario_start_notify() {
  systemctl stop sluice
  # Type=notify: start returns once sluiced sent READY=1 (or fails).
  systemctl start sluice || fail "systemctl start sluice failed"
  local -A p
  local line
  while IFS='=' read -r key value; do p[$key]=$value; done \
    < <(systemctl show -p ActiveState,SubState,Type,NotifyAccess,StatusText sluice)
  expect_eq "${p[Type]}" notify Type
  expect_eq "${p[NotifyAccess]}" main NotifyAccess
  expect_eq "${p[ActiveState]}" active ActiveState
  expect_eq "${p[SubState]}" running SubState
  [ -n "${p[StatusText]}" ] || fail "no STATUS= text from sluiced"
  note "STATUS=${p[StatusText]}"
  line=$(systemctl status --no-pager sluice | grep -F "Status: \"${p[StatusText]}\"" || true)
  [ -n "$line" ] || fail "systemctl status does not show the STATUS= text"
  systemctl status --no-pager sluice | grep -q 'Active: active (running)' ||
    fail "systemctl status does not say active (running)"
  note "systemctl status: active (running), $line"
}

scenario_xdp_native() {
  sluice_up
  expect_eq "$(xdp_mode)" xdp "XDP mode on $NIC (ip link)"
  local id; id=$(xdp_prog_id)
  [ -n "$id" ] || fail "ip -d link shows no prog/xdp id on $NIC"
  note "prog/xdp id $id"
}

# The sandbox: sluiced's capabilities from /proc, and its filesystem from
# inside its mount namespace (nsenter): only the four capabilities, no new
# privileges, /etc and /sys read-only with the pins writable, no kallsyms.
scenario_hardening() {
  sluice_up
  local pid; pid=$(main_pid)
  # CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_PERFMON (38), CAP_BPF (39)
  expect_eq "$(awk '/^CapEff:/ {print $2}' "/proc/$pid/status")" 000000c000001400 "CapEff"
  expect_eq "$(awk '/^CapBnd:/ {print $2}' "/proc/$pid/status")" 000000c000001400 "CapBnd"
  expect_eq "$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$pid/status")" 1 "NoNewPrivs"
  in_service() { nsenter --target "$pid" --mount -- "$@"; }
  # /etc/sluice itself is writable (ConfigurationDirectory=; admin.token_file may be there).
  if in_service touch /etc/hardening-probe 2> /dev/null; then fail "/etc is writable for sluiced"; fi
  if in_service touch "/sys/class/net/$NIC/hardening-probe" 2> /dev/null; then fail "/sys is writable for sluiced"; fi
  # Hidden under an empty mode-0000 file: root's nsenter reads nothing.
  [ -z "$(in_service head -c1 /proc/kallsyms 2> /dev/null)" ] || fail "/proc/kallsyms is readable for sluiced"
  in_service test -d /sys/fs/bpf/sluice || fail "sluiced does not see its pins"
  in_service mkdir /sys/fs/bpf/hardening-probe || fail "/sys/fs/bpf is not writable for sluiced"
  in_service rmdir /sys/fs/bpf/hardening-probe
  in_service touch /var/lib/sluice/hardening-probe || fail "state_dir is not writable for sluiced"
  in_service rm -f /var/lib/sluice/hardening-probe
  note "CapEff 000000c000001400, NoNewPrivs 1, /etc and /sys read-only, kallsyms hidden, /sys/fs/bpf and state_dir writable"
}

# per-ip: 5 requests a minute on /v1/*, fixed window, draft headers.
scenario_http_limited() {
  sluice_up
  local src=10.99.0.11 i code
  for i in 1 2 3 4 5; do
    code=$(http_get "$src" /v1/hello)
    expect_eq "$code" 200 "request $i status"
    expect_eq "$(cat /tmp/http.body)" "upstream ok" "request $i body (from the upstream)"
    expect_eq "$(header RateLimit-Limit)" 5 "request $i RateLimit-Limit"
    expect_eq "$(header RateLimit-Remaining)" $((5 - i)) "request $i RateLimit-Remaining"
    expect_match "$(header RateLimit-Reset)" '^[0-9]+$' "request $i RateLimit-Reset"
  done
  code=$(http_get "$src" /v1/hello)
  expect_eq "$code" 429 "request 6 status"
  expect_eq "$(header RateLimit-Remaining)" 0 "request 6 RateLimit-Remaining"
  local retry; retry=$(header Retry-After)
  expect_match "$retry" '^[0-9]+$' "request 6 Retry-After"
  if [ "$retry" -lt 1 ] || [ "$retry" -gt 60 ]; then fail "Retry-After $retry is not within 1..60"; fi
  expect_eq "$(cat /tmp/http.body)" \
    '{"error":"rate_limit_exceeded","message":"Too many requests. Rate limit exceeded.","quota":"per-ip"}' \
    "429 body"
  # Another client has its own budget.
  expect_eq "$(http_get 10.99.0.12 /v1/hello)" 200 "another client's first request"
}

# rate_pps 20, burst 100 per source on port 8080: of a fast flood, about all
# but the burst and 20 a second are dropped.
scenario_xdp_flood_dropped() {
  sluice_up
  local before after sent started elapsed dropped
  before=$(xdp_count rate_dropped)
  started=$SECONDS
  sent=$(flood 10.99.0.13 3000 500)
  elapsed=$((SECONDS - started))
  after=$(xdp_count rate_dropped)
  dropped=$((after - before))
  note "sent $sent in ${elapsed}s, rate_dropped +$dropped"
  [ "$sent" = 3000 ] || fail "hping3 sent $sent of 3000"
  local most=$((sent - 100)) least=$((sent - 100 - 20 * (elapsed + 1)))
  if [ "$dropped" -gt "$most" ] || [ "$dropped" -lt "$least" ]; then
    fail "rate_dropped grew by $dropped, expected $least..$most"
  fi
}

# login: 2 a minute per client, then blocked 10m; the block goes to the NIC.
scenario_http_block_to_xdp() {
  sluice_up
  local src=10.99.0.14
  expect_eq "$(http_get $src /login)" 200 "login 1"
  expect_eq "$(http_get $src /login)" 200 "login 2"
  expect_eq "$(http_get $src /login)" 429 "login 3"
  wait_for 5 blocked_listed "$src" || fail "$src is not in sluicectl block list: $(sluicectl block list)"
  note "sluicectl block list: $(sluicectl block list | grep -F "$src")"
  forget_connections "$src"
  local before after
  before=$(xdp_count blocked)
  local sent; sent=$(flood "$src" 50 1000)
  after=$(xdp_count blocked)
  expect_eq "$((after - before))" "$sent" "blocked grew by the 50 packets sent"
  local status=0
  in_client curl -s --interface "$src" --connect-timeout 3 -o /dev/null "http://$SERVER:$PORT/ok" || status=$?
  expect_eq "$status" 28 "the blocked client's connect (curl exit 28: timed out)"
  expect_eq "$(http_get 10.99.0.15 /ok)" 200 "another client still gets through"
}

blocked_listed() { sluicectl --json block list | grep -qF "\"$1\""; }

# reload-q (quotas.d/reload.json): 1 an hour per client. Breaking its file and
# reloading must keep it and say why.
scenario_reload_broken_quota_file() {
  sluice_up
  local src=10.99.0.16 file=/etc/sluice/quotas.d/reload.json cursor=/tmp/reload.cursor
  expect_eq "$(http_get $src /r/x)" 200 "reload-q request 1"
  expect_eq "$(http_get $src /r/x)" 429 "reload-q request 2"
  cp "$file" /tmp/reload.json.good
  on_exit "cp /tmp/reload.json.good $file; systemctl reload sluice"
  sed -i 's/"rate": 1,/"rate": "lots",/' "$file"
  journal_mark "$cursor"
  systemctl reload sluice || fail "systemctl reload failed"
  wait_for 10 reload_logged "$cursor" || fail "no 'sluiced: reload:' line in the journal: $(journal_since "$cursor")"
  local line; line=$(journal_since "$cursor" | grep -E "$reload_line" | head -n1)
  note "journal: $line"
  [[ $line == *"reload: $file: quotas[0].rate: "* ]] || fail "the reload line does not name $file and quotas[0].rate"
  systemctl is-active -q sluice || fail "sluice is not active after the refused reload"
  expect_eq "$(http_get $src /r/x)" 429 "reload-q still refuses after the refused reload"
  expect_match "$(cat /tmp/http.body)" '"quota":"reload-q"' "refused by reload-q"
}

# In the journal sluiced's lines read `sluiced[PID]: reload: ...` (the
# identifier is journald's; a plain stderr would show `sluiced: reload:`).
reload_line='sluiced(\[[0-9]+\])?: (sluiced: )?reload: '
reload_logged() { journal_since "$1" | grep -qE "$reload_line"; }

# persist: 2 an hour per client. A restart keeps the spent quota, the block
# list, and XDP: a blocked flooder's packets are all dropped throughout.
scenario_restart_keeps_state() {
  sluice_up
  local spent=10.99.0.17 blocked=10.99.0.18
  expect_eq "$(http_get $spent /p/x)" 200 "persist request 1"
  expect_eq "$(http_get $spent /p/x)" 200 "persist request 2"
  expect_eq "$(http_get $spent /p/x)" 429 "persist request 3"
  sluicectl block add "$blocked" --duration 10m > /dev/null
  wait_for 5 blocked_listed "$blocked" || fail "sluicectl block add did not list $blocked"

  local pid_before blocked_before prog_before
  pid_before=$(main_pid)
  prog_before=$(xdp_prog_id)
  blocked_before=$(xdp_count blocked)
  # 2000 packets at 500/s (4 s) from the blocked source, the restart in the middle;
  # every one must be counted as blocked: none met a NIC without the program.
  flood "$blocked" 2000 2000 > /tmp/flood.sent &
  local flood_pid=$!
  watch_xdp /tmp/xdp.samples &
  local watch_pid=$!
  sleep 0.5
  systemctl restart sluice || fail "systemctl restart failed"
  kill -0 "$flood_pid" 2> /dev/null || fail "the flood ended before the restart did: lengthen it"
  wait "$flood_pid"
  kill "$watch_pid"; wait "$watch_pid" 2> /dev/null || true

  local sent; sent=$(cat /tmp/flood.sent)
  note "main PID $pid_before -> $(main_pid), prog id $prog_before -> $(xdp_prog_id)"
  [ "$(main_pid)" != "$pid_before" ] || fail "the main PID did not change: no restart"
  expect_eq "$(sort -u /tmp/xdp.samples | paste -sd ' ')" xdp "XDP modes seen on $NIC during the restart"
  expect_eq "$(( $(xdp_count blocked) - blocked_before ))" "$sent" "blocked grew by every packet of the flood"
  blocked_listed "$blocked" || fail "$blocked is no longer in the block list after the restart"
  note "$blocked still in sluicectl block list"
  expect_eq "$(http_get $spent /p/x)" 429 "persist still refuses $spent after the restart (counter kept)"
}

# Installing the package again over a running sluice (as an upgrade does):
# the edited /etc/sluice/sluice.json (a conffile) stays, and the postinst's
# try-restart brings up the new sluiced with XDP still attached.
scenario_upgrade_keeps_config() {
  sluice_up
  local before pid
  before=$(md5sum < "$CONFIG")
  pid=$(main_pid)
  dpkg -i /tmp/sluice.deb < /dev/null || fail "dpkg -i of the package over the installed one failed"
  expect_eq "$(md5sum < "$CONFIG")" "$before" "the edited $CONFIG after the upgrade"
  grep -q '"interfaces": \["xdp0"\]' "$CONFIG" || fail "$CONFIG is no longer the test config"
  [ "$(main_pid)" != "$pid" ] || fail "the upgrade did not restart sluiced (postinst try-restart)"
  systemctl is-active -q sluice || fail "sluice is not active after the upgrade"
  note "main PID $pid -> $(main_pid); config kept"
  expect_eq "$(xdp_mode)" xdp "XDP mode after the upgrade"
}

# Samples the XDP mode of the NIC every 50 ms until killed.
watch_xdp() {  # FILE
  : > "$1"
  while true; do xdp_mode >> "$1"; sleep 0.05; done
}

scenario_stop_keeps_xdp() {
  sluice_up
  local src=10.99.0.19
  sluicectl block add "$src" --duration 10m > /dev/null
  systemctl stop sluice
  on_exit "systemctl start sluice"
  expect_eq "$(systemctl show -p ActiveState --value sluice)" inactive "ActiveState after stop"
  expect_eq "$(xdp_mode)" xdp "XDP mode on $NIC after stop (detach_on_stop off)"
  local before sent
  before=$(xdp_count blocked)
  sent=$(flood "$src" 20 1000)
  expect_eq "$(( $(xdp_count blocked) - before ))" "$sent" "the blocked source is still dropped while stopped"
}

scenario_stop_detaches_when_configured() {
  sluice_up
  cp "$CONFIG" /tmp/sluice.json.good
  on_exit "cp /tmp/sluice.json.good $CONFIG; systemctl start sluice"
  sed -i 's/"detach_on_stop": false/"detach_on_stop": true/' "$CONFIG"
  grep -q '"detach_on_stop": true' "$CONFIG" || fail "could not set detach_on_stop in $CONFIG"
  systemctl restart sluice
  expect_eq "$(xdp_mode)" xdp "XDP mode after a restart with detach_on_stop (kept)"
  systemctl stop sluice
  expect_eq "$(xdp_mode)" none "XDP mode after stop with detach_on_stop"
  cp /tmp/sluice.json.good "$CONFIG"
  sluice_up
  expect_eq "$(xdp_mode)" xdp "XDP mode after starting again"
}

scenario_kill9_restarted() {
  sluice_up
  local pid restarts
  pid=$(main_pid)
  restarts=$(n_restarts)
  kill -9 "$pid"
  wait_for 20 restarted_since "$pid" || fail "not restarted within 20s: $(systemctl show -p ActiveState,SubState,MainPID sluice | tr '\n' ' ')"
  note "main PID $pid -> $(main_pid), NRestarts $restarts -> $(n_restarts)"
  expect_eq "$(n_restarts)" $((restarts + 1)) NRestarts
  expect_eq "$(xdp_mode)" xdp "XDP mode after the restart"
}

restarted_since() {  # OLD_PID: active again under another PID
  local pid; pid=$(main_pid)
  [ "$pid" != 0 ] && [ "$pid" != "$1" ] && systemctl is-active -q sluice
}

# WatchdogSec shortened to 3 s by a drop-in: sluiced must ping in time while
# it runs, and a SIGSTOPped one is aborted and restarted.
scenario_watchdog_restarts_hung() {
  mkdir -p /etc/systemd/system/sluice.service.d
  printf '[Service]\nWatchdogSec=3s\n' > /etc/systemd/system/sluice.service.d/watchdog.conf
  on_exit "rm /etc/systemd/system/sluice.service.d/watchdog.conf; systemctl daemon-reload; systemctl restart sluice"
  systemctl daemon-reload
  systemctl restart sluice
  local pid restarts cursor=/tmp/watchdog.cursor
  pid=$(main_pid)
  restarts=$(n_restarts)
  sleep 8
  expect_eq "$(main_pid)" "$pid" "main PID after 8s of pings (not restarted)"
  journal_mark "$cursor"
  kill -STOP "$pid"
  wait_for 40 restarted_since "$pid" || fail "the hung sluiced was not restarted within 40s"
  note "main PID $pid -> $(main_pid), NRestarts $restarts -> $(n_restarts)"
  expect_eq "$(n_restarts)" $((restarts + 1)) NRestarts
  journalctl -u sluice --no-pager --after-cursor="$(cat "$cursor")" | grep -i 'watchdog timeout' ||
    fail "no watchdog timeout in the journal"
}
