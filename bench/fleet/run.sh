#!/usr/bin/env bash
# What a fleet's shared blocks cost (bench/README.md, part 7): three sluiced
# on one redis-server (README "Fleet mode"), each with XDP attached to a veth
# of its own, as three hosts of a fleet would be.
#
#   propagation  a block made through host A's admin API, timed until it is
#                in the XDP block map of host B and of host C (their pinned
#                maps polled every 20 us): p50/p99/max over 1,000 blocks,
#                beside the anchor of a 10 s poll (CrowdSec's stream
#                bouncers); and until B's admin API lists it (100 blocks);
#   idle         what the fleet costs Redis while nothing happens: bytes in
#                and out (INFO stats) and commands (INFO commandstats) per
#                host and second, the three hosts idle for 30 s with no
#                block held; and again for 60 s (a reconcile period) with
#                the propagation's 1,110 blocks held.
#
# The blocks come one at a time, 0.5 s apart on average; the run takes
# about 11 minutes (--quick: 2).
#
#   bench/fleet/run.sh --build DIR [--out FILE] [--quick] [--blocks N] [--idle-seconds S]
#
# DIR holds sluiced and bench/fleet_propagation (cmake --build DIR --target
# sluiced fleet_propagation). FILE (default DIR/bench-fleet.json) gets the
# figures and every sample. --quick: 100 blocks, 20 listed through HTTP and
# 6 s idle. Needs root (XDP, veth pairs, namespaces); exits 77 without. Not
# pinned to CPUs: Redis, the three sluiced and the driver share the machine
# as they come.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
readonly here repo

# Names and addresses of this bench only; a run removes what a killed run
# left. Host i: namespace sbfl-<name>, veth sbfl<i>h (sluiced's XDP, root
# namespace) <-> sbfl<i>p (in the namespace), 10.216.<i>.0/24.
readonly names=(a b c)
readonly lock_file=/run/lock/sluice-bench-fleet.lock
netns_of() { echo "sbfl-${names[$1]}"; }
host_if_of() { echo "sbfl$1h"; }
pin_of() { echo "/sys/fs/bpf/sluice-bench-fleet-${names[$1]}"; }
config_of() { echo "${run_dir}/sluice-${names[$1]}.json"; }
state_of() { echo "${run_dir}/state-${names[$1]}"; }

# The propagation: A makes the blocks, B and C are polled.
readonly poll_us=20
readonly timeout_ms=5000
# The pause before each block: uniform in [0, gap_ms]. Longer than a
# follower's wait on the change stream (XREAD BLOCK 500 ms) half of the
# time, so blocks land at every point of its cycle, after quiet spells too,
# as blocks made now and then do (back to back, its read never times out).
readonly gap_ms=1000
readonly warmup=10
readonly block_duration=1h  # outlasts the run: the second idle window holds every block
readonly settle_s=3     # after the last host started: every loop running, heartbeats written
readonly reconcile_s=60 # a host reads a full snapshot this often (fleet_sync.cpp, kReconcileEvery)
# The anchor: a bouncer that polls for new decisions every 10 s (CrowdSec's
# stream bouncers, update_frequency: 10s) sees a decision made at a random
# moment after U(0, 10 s): p50 5 s, p99 9.9 s, max 10 s.
readonly anchor_poll_s=10

# shellcheck source=bench/runner_common.sh
source "${here}/../runner_common.sh"
duration_s=30
blocks=1000
http_blocks=100
blocks_given=""
idle_given=""
declare -a runner_args=()
while (($# > 0)); do
    case "$1" in
        --blocks) blocks_given="${2:?--blocks needs a count}"; shift 2 ;;
        --idle-seconds) idle_given="${2:?--idle-seconds needs seconds}"; shift 2 ;;
        --rounds) echo "$0: one round only (--blocks sets its size)" >&2; exit 2 ;;
        *) runner_args+=("$1"); shift ;;
    esac
done
default_out=bench-fleet.json parse_runner_args "${runner_args[@]}"
idle_s="${duration_s}"
if [[ -n "${quick}" ]]; then
    idle_s=6
    blocks=100
    http_blocks=20
fi
[[ -z "${blocks_given}" ]] || blocks="${blocks_given}"
[[ -z "${idle_given}" ]] || idle_s="${idle_given}"
[[ "${blocks}" =~ ^[1-9][0-9]*$ ]] || { echo "$0: --blocks ${blocks}: not a count" >&2; exit 2; }
[[ "${idle_s}" =~ ^[1-9][0-9]*$ ]] || { echo "$0: --idle-seconds ${idle_s}: not seconds" >&2; exit 2; }
readonly blocks http_blocks idle_s
require_root "XDP, veth pairs and network namespaces"
sluiced="$(sluiced_in "${build_dir}")"
readonly sluiced
driver="$(cd "${build_dir}" && pwd)/bench/fleet_propagation"
readonly driver
[[ -x "${driver}" ]] || { echo "$0: no ${driver} (cmake --build ${build_dir} --target fleet_propagation)" >&2; exit 1; }
require_tools "scripts/install-deps.sh --bench" redis-server redis-cli ip ethtool jq curl flock ss

# One run at a time: the names above are fixed.
hold_lock "${lock_file}" "fleet bench"

make_run_dir fleet remove_network

# Everything this bench creates, whether this run or a killed one made it.
remove_network() {
    local i
    for i in "${!names[@]}"; do
        veth_rig_down "$(netns_of "${i}")" "$(host_if_of "${i}")" "$(pin_of "${i}")" "$(config_of "${i}")"
    done
}
remove_network

pick_ports $((1 + 2 * ${#names[@]}))
readonly redis_port="${ports[0]}"
admin_port_of() { echo "${ports[$((2 * $1 + 1))]}"; }
proxy_port_of() { echo "${ports[$((2 * $1 + 2))]}"; }

# ---------------------------------------------------------------- hosts

setup_network() {
    local i
    for i in "${!names[@]}"; do
        if ip -4 -o addr show | grep -q " 10\.216\.${i}\."; then
            echo "$0: 10.216.${i}.0/24 is in use on this host; the fleet bench needs it" >&2
            exit 1
        fi
        veth_rig_up "$(netns_of "${i}")" "$(host_if_of "${i}")" "sbfl${i}p" "10.216.${i}.1" "10.216.${i}.2"
    done
}

# Host i's config: a proxy that is never used (its upstream is not there),
# the admin API (its token generated into state_dir/admin.token), the Redis
# store with the store's defaults but the node name, XDP native on its veth.
write_config() {
    local i="$1"
    mkdir -p "$(state_of "${i}")"
    jq -n --arg listen "127.0.0.1:$(proxy_port_of "${i}")" --arg admin "127.0.0.1:$(admin_port_of "${i}")" --arg state "$(state_of "${i}")" \
        --arg url "redis://127.0.0.1:${redis_port}" --arg key "${run_dir}/fleet.key" --arg node "bench-${names[i]}" \
        --arg ifname "$(host_if_of "${i}")" --arg pin "$(pin_of "${i}")" '
        {listen: [$listen], upstream: "http://127.0.0.1:9", admin: {listen: $admin}, state_dir: $state,
         store: {type: "redis", url: $url, key_secret_file: $key, node: $node},
         xdp: {interfaces: [$ifname], mode: "native", rate_pps: 1000000, pin_path: $pin, detach_on_stop: true}}' \
        >"$(config_of "${i}")"
}

declare -a host_pids=()
# Starts host i and waits until its admin API answers, XDP is attached
# natively and it follows the fleet; exits the runner when not.
start_host() {
    local i="$1" log pid
    log="${run_dir}/sluiced-${names[i]}.log"
    write_config "${i}"
    start_background "${log}" "${sluiced}" --config "$(config_of "${i}")"
    pid="${last_pid}"
    host_pids+=("${pid}")
    for _ in $(seq 200); do
        grep -qs "fleet: following" "${log}" &&
            [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(admin_port_of "${i}")/v1/sys/health")" == 200 ]] &&
            break
        kill -0 "${pid}" 2>/dev/null || break
        sleep 0.05
    done
    if ! grep -qs "fleet: following" "${log}"; then
        echo "$0: host ${names[i]} did not start following the fleet:" >&2
        tail -5 "${log}" >&2
        exit 1
    fi
    # `xdp` is the native flag; generic would show `xdpgeneric`.
    if ! ip -d link show dev "$(host_if_of "${i}")" | grep -q "> mtu .* xdp qdisc"; then
        echo "$0: XDP is not attached natively to $(host_if_of "${i}")" >&2
        exit 1
    fi
}

# ---------------------------------------------------------------- Redis

# shellcheck disable=SC2119 # no prefix: nothing in this part is pinned
start_redis

# Redis's traffic so far, as one JSON object: bytes in and out (INFO stats:
# what its clients sent and what it sent them, without TCP/IP headers) and
# calls per command (INFO commandstats), without this runner's own commands.
# What reading them adds itself is measured apart (overhead).
redis_traffic() {
    local stats
    stats="$(redis INFO stats | tr -d '\r')"
    redis_commandstats | jq -c --argjson in "$(sed -n 's/^total_net_input_bytes://p' <<<"${stats}")" \
        --argjson out "$(sed -n 's/^total_net_output_bytes://p' <<<"${stats}")" \
        '{in: $in, out: $out, calls: map_values(.calls)}'
}

# The commands the Lua scripts run inside Redis (commandstats counts them as
# well as the calls that run the scripts), as a JSON array: what is left
# once they are taken off is what the hosts sent.
script_commands="$(grep -ohE "redis\.p?call\(['\"][A-Za-z]+" "${repo}/fleet/fleet_script.lua" \
    "${repo}/store/redis_quota_script.lua" | sed -E "s/.*['\"]//" | sort -u | jq -R 'ascii_downcase' | jq -sc .)"
readonly script_commands

# The traffic of one idle window of `seconds`, as one JSON object: the
# counters' difference over it less what reading them adds (`overhead`).
overhead='{"in":0,"out":0,"calls":{}}'
idle_window() {
    local seconds="$1" before after
    before="$(redis_traffic)"
    sleep "${seconds}" &
    wait $!  # a signal ends the wait at once, not only the sleep
    after="$(redis_traffic)"
    jq -cn --argjson a "${before}" --argjson b "${after}" --argjson o "${overhead}" --argjson s "${seconds}" '
        {seconds: $s, in: ($b.in - $a.in - $o.in), out: ($b.out - $a.out - $o.out),
         calls: ($b.calls | to_entries | map({key, value: (.value - ($a.calls[.key] // 0) - ($o.calls[.key] // 0))})
                 | map(select(.value != 0)) | from_entries)}'
}

# ---------------------------------------------------------------- the run

loadavg_start="$(cut -d' ' -f1-3 /proc/loadavg)"
setup_network
for i in "${!names[@]}"; do start_host "${i}"; done
echo "${#names[@]} hosts following the fleet; the run takes about $(((settle_s + idle_s + (warmup + blocks + http_blocks) * gap_ms / 2000 + 59) / 60 + (quick ? 0 : 1))) minutes" >&2
sleep "${settle_s}"

# What one read of the counters adds to a window (its request and its
# answer fall on both sides of the snapshots): two reads back to back.
overhead="$(idle_window 0)"

echo "idle, no blocks held: ${idle_s} s" >&2
idle_empty="$(idle_window "${idle_s}")"

echo "propagation: ${blocks} blocks timed into XDP, ${http_blocks} through B's admin API" >&2
# In the background, waited for: a signal to the runner stops it at once
# (the cleanup on exit stops what `started` holds).
driver_status=0
"${driver}" --admin-port "$(admin_port_of 0)" --token-file "$(state_of 0)/admin.token" \
    --pin "$(pin_of 1)" --pin "$(pin_of 2)" --blocks "${blocks}" --warmup "${warmup}" \
    --timeout-ms "${timeout_ms}" --poll-us "${poll_us}" --gap-ms "${gap_ms}" --duration "${block_duration}" \
    --http-port "$(admin_port_of 1)" --http-token-file "$(state_of 1)/admin.token" --http-blocks "${http_blocks}" \
    >"${run_dir}/propagation.json" 2>"${run_dir}/propagation.err" 9>&- &
driver_pid=$!
started+=("${driver_pid}")
wait "${driver_pid}" || driver_status=$?
stop_pid "${driver_pid}"  # forgets it (it has ended)
if ! jq -e . "${run_dir}/propagation.json" >/dev/null 2>&1; then
    echo "$0: fleet_propagation printed no figures:" >&2
    cat "${run_dir}/propagation.err" >&2
    exit 1
fi

# Idle again, now with every block of the propagation held (block_duration
# outlasts the run), for as long as a host's reconcile period: each host
# reads one full snapshot in it, and a snapshot's size grows with the blocks.
idle_held='null'
if [[ -z "${quick}" ]]; then
    echo "idle, the propagation's blocks held: ${reconcile_s} s (one reconcile per host)" >&2
    idle_held="$(idle_window "${reconcile_s}")"
fi

# The hosts' own word on the run: how often each found Redis not answering
# (a read of the change stream or a heartbeat not answered in time); each
# time it reads a full snapshot after a pause (fleet_sync.cpp, kRetryAfter).
# Stopped before Redis, so that their stop is not counted.
for pid in "${host_pids[@]}"; do stop_pid "${pid}"; done
no_answer="$(for i in "${!names[@]}"; do
    grep -c "fleet: .* does not answer" "${run_dir}/sluiced-${names[i]}.log" || true
done | jq -sc .)"
no_answer_example="$({ grep -h "fleet: .* does not answer" "${run_dir}"/sluiced-*.log || true; } | head -1)"

mkdir -p "$(dirname "${out}")"
jq -n \
    --argjson hosts "${#names[@]}" --argjson settle_s "${settle_s}" \
    --argjson idle_empty "${idle_empty}" --argjson idle_held "${idle_held}" --argjson overhead "${overhead}" \
    --argjson script_commands "${script_commands}" \
    --slurpfile propagation "${run_dir}/propagation.json" --argjson driver_status "${driver_status}" \
    --argjson anchor_poll_s "${anchor_poll_s}" --argjson no_answer "${no_answer}" --arg no_answer_example "${no_answer_example}" \
    --arg loadavg_start "${loadavg_start}" --arg loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --arg redis_version "$(redis-server --version)" --arg kernel "$(uname -r)" \
    --arg sluiced "$(git -C "${repo}" describe --always --dirty 2>/dev/null || echo unknown)" \
    --arg config "$(jq -c . "$(config_of 0)" | sed "s|${run_dir}|<run>|g")" '
    def ratio(a; b): if a == null or b == null or b == 0 then null else a / b end;
    def total(calls): [calls[]] | add // 0;
    def sent(calls): calls | with_entries(select(.key as $k | $script_commands | index($k) | not));
    # Per host and second; requests: the commands the hosts sent (EVALSHA,
    # XREAD), commands: those and what the scripts ran.
    def per_host(w): if w == null then null else
        {seconds: w.seconds, hosts: $hosts,
         in_bytes_per_s: (w.in / $hosts / w.seconds), out_bytes_per_s: (w.out / $hosts / w.seconds),
         requests_per_s: (total(sent(w.calls)) / $hosts / w.seconds),
         commands_per_s: (total(w.calls) / $hosts / w.seconds),
         by_command_per_s: (w.calls | map_values(. / $hosts / w.seconds)),
         fleet_totals: w} end;
    $propagation[0] as $p
    | ($anchor_poll_s * 1000) as $anchor_ms
    | {p50_ms: ($anchor_ms * 0.5), p99_ms: ($anchor_ms * 0.99), max_ms: $anchor_ms} as $anchor
    | ($p.xdp.all_hosts) as $all
    | ([$p.errors[]?] + (if $p.failed then [$p.failed] else [] end)) as $errors
    | {
        part: "fleet",
        setup: {hosts: $hosts, redis: "one redis-server, --save \"\" --appendonly no, on loopback",
                sluiced_config_host_a: $config, xdp: "native, on a veth per host",
                pinning: "none", settle_s: $settle_s},
        versions: {redis: $redis_version, kernel: $kernel, sluiced: $sluiced},
        loadavg: {start: $loadavg_start, end: $loadavg_end},
        propagation: {
            blocks: $p.xdp.blocks, poll_us: $p.poll_us, timeout_ms: $p.timeout_ms, gap_ms_max: $p.gap_ms_max,
            warmup: $p.warmup, block_duration: $p.duration,
            xdp_all_hosts: $all, xdp_host_b: $p.xdp.hosts[0], xdp_host_c: $p.xdp.hosts[1],
            api_answer: $p.xdp.answer, max_poll_gap_us: $p.xdp.max_poll_gap_us,
            http_listed_by_b: $p.http.listed, http_get: $p.http.get,
            anchor: ($anchor + {what: "a bouncer polling every \($anchor_poll_s) s (CrowdSec stream bouncers, update_frequency: 10s): a decision waits U(0, \($anchor_poll_s) s)"}),
            anchor_over_sluice: {p50: ratio($anchor.p50_ms; $all.p50_ms), p99: ratio($anchor.p99_ms; $all.p99_ms),
                                 max: ratio($anchor.max_ms; $all.max_ms)},
            samples_ms: {host_b: $p.xdp.samples_ms.hosts[0], host_c: $p.xdp.samples_ms.hosts[1],
                         answer: $p.xdp.samples_ms.answer, pause_before: $p.xdp.samples_ms.pause_before,
                         started_unix_s: $p.xdp.started_unix_s,
                         http_listed_by_b: $p.http.samples_ms}},
        idle: {no_blocks: per_host($idle_empty),
               blocks_held: (per_host($idle_held) | if . == null then null
                             else . + {blocks: (($p.warmup // 0) + ($p.xdp.blocks // 0) + ($p.http.blocks // 0))} end),
               runner_read_overhead: $overhead, script_commands: $script_commands},
        redis_not_answering: {per_host: $no_answer, example: $no_answer_example,
                              what: "log lines \"fleet: ... does not answer\" of each host over the whole run"},
        valid: ($errors == [] and $driver_status == 0),
        errors: $errors
      }' >"${out}"

# The short table.
jq -r '
    def f(x; d): if x == null then "-" else (x * pow(10; d) | round / pow(10; d) | tostring) end;
    def pad(n): tostring | . + " " * (n - length);
    def row(title; s): "  \(title | pad(46)) \(f(s.p50_ms; 3) | pad(8)) \(f(s.p99_ms; 3) | pad(8)) \(f(s.max_ms; 3) | pad(8)) \(s.count // "-") (\(s.timeouts // "-"))";
    def idle(title; w): if w == null then empty else
        "  \(title | pad(30)) \(f(w.in_bytes_per_s; 1) | pad(10)) \(f(w.out_bytes_per_s; 1) | pad(10)) \(f(w.requests_per_s; 2) | pad(10)) \(f(w.commands_per_s; 2) | pad(10)) \(w.seconds)",
        "    \(w.by_command_per_s | to_entries | map("\(.key) \(f(.value; 2))") | join(", "))" end;
    .propagation as $p | .idle as $i
    | "Fleet of \(.setup.hosts) hosts on one Redis" + (if .valid then "" else " (INVALID: \(.errors | join("; ")))" end),
      "",
      "block made on A (API call) -> entry in the XDP map  p50 ms   p99 ms   max ms   blocks (timeouts)",
      row("host B"; $p.xdp_host_b), row("host C"; $p.xdp_host_c), row("both (the later of B and C)"; $p.xdp_all_hosts),
      row("anchor: a 10 s poll"; $p.anchor),
      "  \("anchor / Sluice (both)" | pad(46)) \(f($p.anchor_over_sluice.p50; 0) + "x" | pad(8)) \(f($p.anchor_over_sluice.p99; 0) + "x" | pad(8)) \(f($p.anchor_over_sluice.max; 0))x",
      row("A answered the PUT"; $p.api_answer),
      row("listed by B (GET /v1/sys/blocks)"; $p.http_listed_by_b),
      "  (polls: XDP maps every \($p.poll_us) us, largest gap \(f($p.max_poll_gap_us; 0)) us; one GET of B: p50 \(f($p.http_get.p50_ms; 3)) ms)",
      "",
      "idle, per host                   B/s in    B/s out    requests/s commands/s seconds",
      idle("no blocks held"; $i.no_blocks),
      idle("\($i.blocks_held.blocks // 0) blocks held"; $i.blocks_held),
      "  (requests: what a host sends, EVALSHA and XREAD; commands: those and what the scripts run, as INFO commandstats counts)",
      "",
      "\"Redis does not answer\", logged by host A, B, C over the run: \(.redis_not_answering.per_host | map(tostring) | join(", "))",
      (.redis_not_answering.example | if . == "" then empty else "  e.g. \(.)" end)
' "${out}"
echo "wrote ${out}" >&2
exit "${driver_status}"
