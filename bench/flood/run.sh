#!/usr/bin/env bash
# A UDP flood over a veth pair, from a peer namespace into the host side,
# against filters with the same per-source limit:
#   sluice_xdp        sluiced, its XDP program attached natively to the host veth
#   nftables_meter    bench/peers/nftables-meter.nft: a meter in the inet input hook
#   nftables_ingress  the same meter in the netdev ingress hook (bench/peers/nftables-ingress-meter.nft)
#   none              no filter: the packets reach UDP, which drops them (no socket)
# and, during each flood, a legitimate client's paced HTTP requests to an
# nginx on the host side of the veth (and once without a flood: the baseline).
#
#   bench/flood/run.sh --build DIR --out FILE [--quick]
#
# DIR holds sluiced (a CMake build folder). FILE gets the JSON the report
# generator reads (see bench/README.md, part 4). --quick: one round of 2 s
# instead of three of 5 s. Needs root (namespaces, XDP, nftables); exits 77
# without.
#
# The flood comes from flood_gen (flood_gen.c, flood_gen.bpf.c): BPF_PROG_RUN
# in live-frames mode, redirecting each frame into the veth to the host, as
# fast as one CPU can. So the host veth receives XDP frames, as a NIC driver
# does from its ring, not skbs (which veth would copy before XDP and free on
# the receiving CPU), and more of them than any filter can take: every
# filter runs saturated, and what it drops per CPU-second is its capacity.
#
# The receive path is one thread: the host veth runs threaded NAPI and its
# NAPI kthread is pinned to CPU 0, so every filter's cost (XDP, or the skb,
# IP and nftables / UDP) is that thread's run time, read from
# /proc/PID/schedstat. nginx and sluiced share CPU 0 with it (the server's
# CPU); the sender (flood_gen) and the client (wrk) are on CPU 1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly here
repo="$(cd "${here}/../.." && pwd)"
readonly repo
readonly peers="${repo}/bench/peers"

readonly receiver_cpu=0
readonly sender_cpu=1

# Names and addresses of this bench only; a run removes what a killed run left.
readonly netns=sbf-flood
readonly host_if=sbfh0
readonly peer_if=sbfp0          # the host veth's peer, in the namespace
readonly nft_table=sbf_flood
readonly pin_path=/sys/fs/bpf/sluice-bench-flood
readonly lock_file=/run/lock/sluice-bench-flood.lock
readonly host_ip=10.218.0.1
readonly peer_ip=10.218.0.2     # the namespace's own address: the legitimate client
readonly first_source=10.219.1.1  # spoofed sources: this and the next ones, in 10.219.0.0/16
readonly source_route=10.219.0.0/16
readonly flood_port=9           # UDP; nothing listens there

# The limit every filter applies per source, and the flood: 64 sources, each
# far over the limit. What a filter passes (sources x rate) goes on to UDP,
# which drops it and tries an ICMP answer: a few us a packet, the same for
# every filter, so the limit is low enough that this stays a small part of
# the flood. The legitimate client sends one or two packets per request, 50
# requests/s: at most half the limit.
readonly rate_pps=200
readonly burst=200
readonly sources=64
readonly packet_bytes=64        # on the wire, with the FCS: 60 in the frame
readonly legit_delay_ms=20      # one request per 20 ms on one connection
readonly warmup_s=1             # flood before the measured window: meters and LRU settle
readonly variants=(sluice_xdp nftables_meter nftables_ingress none)

# shellcheck source=bench/runner_common.sh
source "${here}/../runner_common.sh"
rounds=3
duration_s=5
parse_runner_args "$@"
require_root "network namespaces, XDP and nftables"
require_two_cpus "the receive path on one, the sender on the other"
sluiced="$(sluiced_in "${build_dir}")"
readonly sluiced
require_tools "scripts/install-deps.sh --bench" \
    ip nft wrk nginx ethtool taskset jq curl envsubst timeout pgrep flock ss clang gcc pkg-config

# One run at a time: the names above are fixed.
hold_lock "${lock_file}" "flood bench"

make_run_dir flood remove_network

# Everything this bench creates, whether this run or a killed one made it.
remove_network() {
    nft delete table inet "${nft_table}" 2>/dev/null || true
    nft delete table netdev "${nft_table}" 2>/dev/null || true
    veth_rig_down "${netns}" "${host_if}" "${pin_path}" "${run_dir}/sluice-flood.json"
}

in_netns() { ip netns exec "${netns}" "$@"; }

# ---------------------------------------------------------------- network

#   host       host_if  host_ip/24 <--veth--> peer_if peer_ip/24  namespace
#                                                 ^ flood_gen's frames (XDP redirect)
# (veth_rig_up in runner_common.sh: permanent neighbours, GRO on the host
# veth, no TSO on the peer, threaded NAPI.) The host routes the spoofed /16
# via the namespace (the ICMP answers to passed packets have a way, and
# rp_filter sees a valid path).
setup_network() {
    if ip -4 -o addr show | grep -q " ${host_ip%.*}\." || [[ -n "$(ip -4 route show "${source_route}")" ]]; then
        echo "$0: ${host_ip%.*}.0/24 or ${source_route} is in use on this host; the flood bench needs them" >&2
        exit 1
    fi
    veth_rig_up "${netns}" "${host_if}" "${peer_if}" "${host_ip}" "${peer_ip}"
    ip route add "${source_route}" via "${peer_ip}" dev "${host_if}"
}

# flood_gen and its program, built for this run: the program has the peer
# veth's ifindex and the sources compiled in.
build_flood_gen() {
    local first_source_number
    first_source_number="$(printf '0x%02x%02x%02x%02x' ${first_source//./ })"
    clang -O2 -g -target bpf -mcpu=v3 -Wall -Werror -I"/usr/include/$(gcc -print-multiarch)" \
        -DTARGET_IFINDEX="$(in_netns cat "/sys/class/net/${peer_if}/ifindex")" \
        -DSOURCE_FIRST="${first_source_number}" -DSOURCE_COUNT="${sources}" \
        -c "${here}/flood_gen.bpf.c" -o "${run_dir}/flood_gen.bpf.o"
    # shellcheck disable=SC2046 # pkg-config's flags are separate words
    gcc -O2 -Wall -Werror -o "${run_dir}/flood_gen" "${here}/flood_gen.c" $(pkg-config --cflags --libs libbpf)
}

# The pid of the host veth's NAPI kthread (napi_pid), pinned to the receiver CPU.
pin_napi_thread() { napi_thread "${host_if}" "${receiver_cpu}"; }

# ---------------------------------------------------------------- configs

pick_ports 2
sluice_port="${ports[0]}"
http_port="${ports[1]}"
export RUN_DIR="${run_dir}" HOST_IP="${host_ip}" HTTP_PORT="${http_port}" SLUICE_PORT="${sluice_port}"
export HOST_IF="${host_if}" PIN_PATH="${pin_path}" RATE_PPS="${rate_pps}" BURST="${burst}" NFT_TABLE="${nft_table}"

# A template with its ${VARIABLES} filled in, in the run folder. Only the
# listed ones: nginx's own $variables stay.
fill() {
    local template="$1" filled
    filled="${run_dir}/$(basename "$1")"
    # shellcheck disable=SC2016 # the names of the variables to replace, not their values
    envsubst '${RUN_DIR} ${HOST_IP} ${HTTP_PORT} ${SLUICE_PORT} ${HOST_IF} ${PIN_PATH} ${RATE_PPS} ${BURST}
              ${NFT_TABLE}' \
        <"${template}" >"${filled}"
    chmod 644 "${filled}"
    echo "${filled}"
}

# ---------------------------------------------------------------- counters

# Every counter a round needs, as one JSON object: wall clock (us) and the
# NAPI thread's run time (ns), what the host veth received and what was lost
# because its ring was full (the host's rx_dropped: redirected frames; the
# peer's tx_dropped: skbs), CPU 0's idle and total jiffies, UDP NoPorts, and
# the filters' own counters. What moves with every packet is read first,
# together, without starting a process; the filters' counters after.
snapshot() {
    local t_us napi_stat host_rx host_dropped cpu0 noports peer_dropped xdp_stats nft_counter
    t_us="${EPOCHREALTIME/./}"
    napi_stat="$(<"/proc/${napi_pid}/schedstat")"
    host_rx="$(<"/sys/class/net/${host_if}/statistics/rx_packets")"
    host_dropped="$(<"/sys/class/net/${host_if}/statistics/rx_dropped")"
    # cpu0 user nice system idle iowait irq softirq steal
    cpu0="$(awk '$1 == "cpu'"${receiver_cpu}"'" { print "[" $5 + $6 "," $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 "]" }' /proc/stat)"
    noports="$(awk '$1 == "Udp:" { if (header) { print $3; exit } header = 1 }' /proc/net/snmp)"
    peer_dropped="$(in_netns cat "/sys/class/net/${peer_if}/statistics/tx_dropped")"
    # From the host veth's section of --xdp-stats only (a section "other
    # interfaces", for packets of an ifindex not in the config, has the same
    # counter names: it is read apart, as other_seen), and every verdict
    # summed (seen): packets counted as another verdict than `passed` were
    # seen by XDP too. stats_read is false when --xdp-stats failed.
    xdp_stats='{"rate_dropped":0,"passed":0,"seen":0,"other_seen":0,"stats_read":true}'
    if [[ -d "${pin_path}" ]]; then
        xdp_stats="$({ "${sluiced}" --config "${sluice_conf}" --xdp-stats 2>/dev/null || echo "FAILED"; } |
            awk -v ifname="${host_if}" '
                 /^FAILED/ { failed = 1; next }
                 /^[^ ]/ { section = ($1 == ifname) ? "mine" : "other"; next }
                 $3 == "packets" { if (section == "mine") { v[$1] = $2; seen += $2 } else other += $2 }
                 END { printf "{\"rate_dropped\":%d,\"passed\":%d,\"seen\":%d,\"other_seen\":%d,\"stats_read\":%s}\n",
                       v["rate_dropped"], v["passed"], seen, other, failed ? "false" : "true" }')"
    fi
    nft_counter="$(nft -j list ruleset | jq --arg table "${nft_table}" \
        '[.nftables[].rule? // empty | select(.table == $table) | .expr[] | .counter? // empty | .packets] | add // 0')"
    jq -cn --argjson t_us "${t_us}" --argjson napi_ns "${napi_stat%% *}" --argjson host_rx "${host_rx}" \
        --argjson host_dropped "${host_dropped}" --argjson peer_dropped "${peer_dropped}" --argjson cpu0 "${cpu0}" \
        --argjson noports "${noports}" --argjson xdp "${xdp_stats}" --argjson nft "${nft_counter}" \
        '{t_us: $t_us, napi_ns: $napi_ns, received: $host_rx, ring_drops: ($host_dropped + $peer_dropped),
          pushed: ($host_rx + $host_dropped + $peer_dropped), cpu0_idle: $cpu0[0], cpu0_total: $cpu0[1],
          udp_noports: $noports, xdp_dropped: $xdp.rate_dropped, xdp_passed: $xdp.passed,
          xdp_seen: $xdp.seen, xdp_other_seen: $xdp.other_seen, xdp_stats_read: $xdp.stats_read, nft_dropped: $nft}'
}

# ---------------------------------------------------------------- processes

legit_wrk() {
    local seconds="$1"
    in_netns taskset -c "${sender_cpu}" wrk -t1 -c1 -d"${seconds}s" --timeout 2s -s "${here}/paced.lua" \
        "http://${host_ip}:${http_port}/" -- "${legit_delay_ms}" | grep '^{"requests"' || echo '{}'
}

start_nginx() {
    start_background "${run_dir}/legit-nginx.log" \
        taskset -c "${receiver_cpu}" nginx -p "${run_dir}" -e "${run_dir}/legit-nginx.error.log" -c "${nginx_conf}"
    for _ in $(seq 100); do
        in_netns curl -s -o /dev/null "http://${host_ip}:${http_port}/" && return 0
        sleep 0.05
    done
    echo "$0: nginx did not start serving on ${host_ip}:${http_port}" >&2
    exit 1
}

# The flood for at most `seconds`, in the background on the sender CPU, at
# nice 19 (the legitimate client there gets the CPU when it wakes); sets
# flood_pid (timeout's: it passes a TERM on).
flood_pid=""
start_flood() {
    local seconds="$1"
    start_background "${run_dir}/flood_gen.log" \
        timeout "${seconds}" ip netns exec "${netns}" taskset -c "${sender_cpu}" nice -n 19 \
        "${run_dir}/flood_gen" "${run_dir}/flood_gen.bpf.o" "$(cat "/sys/class/net/${host_if}/address")" \
        "$(in_netns cat "/sys/class/net/${peer_if}/address")" "${host_ip}" "${flood_port}"
    flood_pid="${last_pid}"
}

# ---------------------------------------------------------------- filters

sluiced_pid=""
filter_problem=""  # set by setup_filter: empty, or why the filter is not as it should be
# Puts `variant` in place (in this shell: it may start sluiced).
setup_filter() {
    filter_problem=""
    case "$1" in
        sluice_xdp)
            start_background "${run_dir}/sluiced.log" taskset -c "${receiver_cpu}" "${sluiced}" --config "${sluice_conf}"
            sluiced_pid="${last_pid}"
            for _ in $(seq 100); do
                grep -q "sluiced: listening on" "${run_dir}/sluiced.log" && break
                kill -0 "${sluiced_pid}" 2>/dev/null || break
                sleep 0.05
            done
            if ! grep -q "sluiced: listening on" "${run_dir}/sluiced.log"; then
                filter_problem="sluiced did not start: $(tail -3 "${run_dir}/sluiced.log")"
            elif ! ip -d link show dev "${host_if}" | grep -q "> mtu .* xdp qdisc"; then
                # `xdp` is the native flag; generic would show `xdpgeneric`.
                filter_problem="XDP is not attached natively to ${host_if}"
            fi
            ;;
        nftables_meter) nft -f "${nft_conf}" ;;
        nftables_ingress) nft -f "${nft_ingress_conf}" ;;
        none) ;;
    esac
}

teardown_filter() {
    case "$1" in
        sluice_xdp)
            # detach_on_stop: SIGTERM detaches and removes the pins.
            stop_pid "${sluiced_pid}"
            sluiced_pid=""
            [[ ! -d "${pin_path}" ]] || "${sluiced}" --config "${sluice_conf}" --xdp-detach >/dev/null
            ;;
        nftables_meter) nft delete table inet "${nft_table}" ;;
        nftables_ingress) nft delete table netdev "${nft_table}" ;;
        none) ;;
    esac
}

# The filter's drop counter in a snapshot: for `none`, UDP's NoPorts.
dropped_field() {
    case "$1" in
        sluice_xdp) echo xdp_dropped ;;
        nftables_meter | nftables_ingress) echo nft_dropped ;;
        none) echo udp_noports ;;
    esac
}

# Empty when the legitimate client, alone for a second, is refused nothing by
# the filter (and the filter sees its packets, for XDP); else why not.
legit_not_limited_problem() {
    local variant="$1" before after legit field
    field="$(dropped_field "${variant}")"
    before="$(snapshot)"
    legit="$(legit_wrk 1)"
    after="$(snapshot)"
    jq -rn --argjson b "${before}" --argjson a "${after}" --argjson legit "${legit}" \
        --arg field "${field}" --arg variant "${variant}" '
        if ($legit.requests // 0) == 0 then "sanity: the legitimate client alone got no answer"
        elif ($legit.errors // 0) > 0 then "sanity: the legitimate client alone had \($legit.errors) errors"
        elif $variant != "none" and $a[$field] != $b[$field] then
            "sanity: the filter dropped \($a[$field] - $b[$field]) packets of the legitimate client alone"
        elif $variant == "sluice_xdp" and (($a.xdp_stats_read and $b.xdp_stats_read) | not) then
            "sanity: sluiced --xdp-stats could not be read"
        elif $variant == "sluice_xdp" and $a.xdp_passed == $b.xdp_passed then
            "sanity: XDP saw no packet of the legitimate client (all verdicts of \(env.HOST_IF): +\($a.xdp_seen - $b.xdp_seen); other interfaces: +\($a.xdp_other_seen - $b.xdp_other_seen); host veth received +\($a.received - $b.received))"
        else "" end'
}

# ---------------------------------------------------------------- measure

# One round of one filter: flood for warmup + duration; the window is the
# duration, while the legitimate client runs. Appends the round's figures.
measure() {
    local variant="$1" round="$2" raw="$3" problem before after legit
    setup_filter "${variant}"
    problem="${filter_problem}"
    pin_napi_thread
    [[ -n "${problem}" ]] || problem="$(legit_not_limited_problem "${variant}")"
    start_flood $((warmup_s + duration_s + 2))
    sleep "${warmup_s}"
    if ! kill -0 "${flood_pid}" 2>/dev/null; then
        echo "$0: flood_gen stopped: $(cat "${run_dir}/flood_gen.log")" >&2
        exit 1
    fi
    before="$(snapshot)"
    legit="$(legit_wrk "${duration_s}")"
    after="$(snapshot)"
    stop_pid "${flood_pid}"
    teardown_filter "${variant}"
    jq -cn --argjson b "${before}" --argjson a "${after}" --argjson legit "${legit}" \
        --arg variant "${variant}" --argjson round "${round}" --arg field "$(dropped_field "${variant}")" \
        --arg problem "${problem}" '
        def d(f): $a[f] - $b[f];
        (d("t_us") / 1e6) as $s | (d("napi_ns") / 1e9) as $cpu
        | d($field) as $dropped | d("received") as $received
        # NoPorts counts every datagram to a port without a socket on this
        # host: datagrams of other programs can make it exceed the flood.
        | (if $variant == "sluice_xdp" then d("xdp_passed") else [$received - $dropped, 0] | max end) as $passed
        # The premise of the figures: the flood outran the filter (its ring
        # overflowed) and its thread had the CPU (nothing else took it).
        | (d("ring_drops") > 0 and 100 * $cpu / $s >= 90) as $saturated
        | (if $problem != "" then $problem
           elif $dropped <= 0 then "the filter dropped nothing"
           elif ($legit.requests // 0) == 0 then "the legitimate client got no answer"
           elif ($saturated | not) then
             "receiver not saturated: ring drops \(d("ring_drops")), its thread \(100 * $cpu / $s | round)% of CPU 0"
           else "" end) as $why
        | {variant: $variant, round: $round, elapsed_s: $s,
           sent: d("pushed"), received: $received, ring_drops: d("ring_drops"), dropped: $dropped,
           passed: $passed, udp_noports: d("udp_noports"), receiver_cpu_s: $cpu,
           sent_pps: (d("pushed") / $s), received_pps: ($received / $s), dropped_pps: ($dropped / $s),
           passed_pps: ($passed / $s), receiver_cpu_percent: (100 * $cpu / $s),
           receiver_ns_per_packet: (if $received > 0 then d("napi_ns") / $received else null end),
           dropped_per_cpu_second: (if $cpu > 0 then $dropped / $cpu else null end),
           cpu0_busy_percent: (100 * (1 - d("cpu0_idle") / d("cpu0_total"))),
           receiver_saturated: $saturated, xdp_other_interfaces: d("xdp_other_seen"),
           legit: $legit, valid: ($why == "")}
        + (if $why == "" then {} else {why: $why} end)' >>"${raw}"
    tail -1 "${raw}" >&2
}

remove_network
setup_network
build_flood_gen
nginx_conf="$(fill "${here}/legit-nginx.conf")"
readonly nginx_conf
sluice_conf="$(fill "${peers}/sluice-flood.json")"
readonly sluice_conf
nft_conf="$(fill "${peers}/nftables-meter.nft")"
readonly nft_conf
nft_ingress_conf="$(fill "${peers}/nftables-ingress-meter.nft")"
readonly nft_ingress_conf
start_nginx
pin_napi_thread

echo "legitimate client alone (baseline)" >&2
baseline="$(legit_wrk "${duration_s}")"
echo "${baseline}" >&2

raw="${run_dir}/rounds.jsonl"
: >"${raw}"
for ((round = 1; round <= rounds; round++)); do
    # Each round starts with the next filter: no filter always runs first.
    round_order_of "${round}" "${variants[@]}"
    for variant in "${round_order[@]}"; do
        echo "round ${round}/${rounds}: ${variant}" >&2
        measure "${variant}" "${round}" "${raw}"
    done
done

mkdir -p "$(dirname "${out}")"
jq -s \
    --arg sender "flood_gen (BPF_PROG_RUN live frames, XDP-redirected into the veth: the host gets XDP frames as from a NIC ring) on CPU ${sender_cpu}, nice 19" \
    --argjson sources "${sources}" --argjson rate "${rate_pps}" --argjson burst "${burst}" \
    --argjson bytes "${packet_bytes}" --argjson duration "${duration_s}" --argjson rounds "${rounds}" \
    --arg receiver "threaded NAPI kthread of the host veth pinned to CPU ${receiver_cpu} (its schedstat run time)" \
    --arg nft_hook "nftables_meter: inet input hook, priority filter; nftables_ingress: netdev ingress hook" \
    --argjson variants "$(printf '%s\n' "${variants[@]}" | jq -R . | jq -sc .)" \
    --arg legit "wrk 1 connection, a request every ${legit_delay_ms} ms, from ${peer_ip} (CPU ${sender_cpu}) to nginx on CPU ${receiver_cpu}" \
    --argjson baseline "${baseline}" \
    "${jq_rounds_defs}"'
    def med(rows; f): [rows[] | f | select(. != null)] | median;
    def legit_summary: {requests_per_s, p50_ms, p99_ms, p999_ms, errors};
    def summary:
        . as $rounds
        | rounds_to_use as $use
        | reduce ("sent_pps", "received_pps", "dropped_pps", "passed_pps", "receiver_cpu_percent",
                  "receiver_ns_per_packet", "dropped_per_cpu_second") as $m
            ({}; .[$m] = med($use; .[$m]))
        + {legit: (reduce ("requests_per_s", "p50_ms", "p99_ms", "p999_ms", "errors") as $m
            ({}; .[$m] = med($use; .legit[$m])))}
        + validity
        + {rounds: [$rounds[] | del(.variant)]};
    . as $all
    | {
        setup: {sender: $sender, sources: $sources, limit_pps_per_source: $rate, burst: $burst,
                packet_bytes: $bytes, duration_s: $duration, rounds: $rounds, receiver_cpu: $receiver,
                nft_hook: $nft_hook, legit_client: $legit},
        legit_baseline: ($baseline | legit_summary),
        runs: (reduce $variants[] as $v
                ({}; .[$v] = ([$all[] | select(.variant == $v)] | summary)))
      }' "${raw}" >"${out}"
echo "wrote ${out}" >&2
