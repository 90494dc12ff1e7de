#!/usr/bin/env bash
# An HTTP flood under attack, over a veth pair with native XDP on the server
# side: 50 abusers (keep-alive connections and a new connection per request,
# as fast as the server answers) and one legitimate client at a fixed rate,
# against the same per-IP limits in:
#   sluice_xdp     sluiced, a per-IP quota with block_interval: a refused
#                  abuser is blocked, at HTTP and in XDP (dropped at the NIC)
#   nginx          limit_req + limit_conn (bench/peers/attack-nginx.conf)
#   haproxy        stick table + http-request deny (bench/peers/attack-haproxy.cfg)
#   sluice_no_xdp  sluiced with the same config without its xdp section: the
#                  block holds at HTTP only
#
#   bench/attack/run.sh --build DIR --out FILE [--quick]
#
# DIR holds sluiced (a CMake build folder); the load tool (attack_load.cpp)
# is compiled by this script. FILE gets the JSON bench/report.py reads (see
# bench/README.md, part 5). Three rounds of every variant (--quick: one,
# shorter). Needs root (namespaces, XDP); exits 77 without.
#
#   root namespace                                  namespace sba-attack
#   sbah0 10.217.0.1/24 (XDP, native) <--veth-->    sbap0 10.217.0.2/24: the legitimate client
#   proxy on 10.217.0.1, CPU 0                            10.217.1.1-50/24: the abusers
#   host veth's NAPI kthread on CPU 0                 attack_load (both), CPU 1; upstream nginx on CPU 1
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly here
repo="$(cd "${here}/../.." && pwd)"
readonly repo
readonly peers="${repo}/bench/peers"

readonly server_cpu=0
readonly client_cpu=1

readonly netns=sba-attack
readonly host_if=sbah0
readonly peer_if=sbap0
readonly host_ip=10.217.0.1
readonly legit_ip=10.217.0.2
readonly abuser_net=10.217.1.0/24
readonly first_abuser=10.217.1.1
readonly pin_path=/sys/fs/bpf/sluice-bench-attack
readonly lock_file=/run/lock/sluice-bench-attack.lock

# The load and the limits (the same for every variant).
readonly abusers=50
readonly abuser_keepalive=8     # keep-alive connections per abuser
readonly abuser_fresh=8         # connections per abuser that carry one request each
readonly abuser_timeout_ms=500  # a connect or answer slower than this is given up and retried
readonly legit_rate=50          # requests/s, open loop
readonly quota_rps=100          # per IP: the legitimate client stays at half of it
readonly conn_cap=10            # connections per IP (abusers open 16)
readonly block_s=30             # sluiced's block_interval: longer than a round
readonly xdp_rate_pps=20000     # sluiced's XDP per-source packet rate: above any client here
readonly lead_s=1               # the legitimate client alone before the attack starts
readonly abuse_threshold_per_s=50  # steady state: abuser requests reaching the proxy at most this per second
readonly variants=(sluice_xdp nginx haproxy sluice_no_xdp)

# shellcheck source=bench/runner_common.sh
source "${here}/../runner_common.sh"
rounds=3
duration_s=10
parse_runner_args "$@"
if ((duration_s < 10)); then duration_s=5; fi  # --quick: one round of 5 s (2 s is too short for a steady state)
require_root "network namespaces and XDP"
require_two_cpus "the server on one, the clients on the other"
sluiced="$(sluiced_in "${build_dir}")"
readonly sluiced
require_tools "scripts/install-deps.sh --bench" ip nft nginx haproxy ethtool taskset jq curl envsubst pgrep flock ss g++
readonly python=/usr/bin/python3

hold_lock "${lock_file}" "attack bench"

make_run_dir attack remove_network

remove_network() {
    veth_rig_down "${netns}" "${host_if}" "${pin_path}" "${run_dir}/sluice-attack.json"
    ip route del "${abuser_net}" 2>/dev/null || true
}

in_netns() { ip netns exec "${netns}" "$@"; }

# ---------------------------------------------------------------- network

# veth_rig_up (runner_common.sh), plus: the abusers' addresses on the peer
# veth and the host's route back to them; no TSO on the host veth and GRO
# and threaded NAPI on the peer, pinned to the client CPU, so the clients'
# receive path runs there and not as softirq on the server's CPU; a packet
# counter per client kind on the namespace's output (what was sent).
setup_network() {
    if ip -4 -o addr show | grep -q " ${host_ip%.*}\." || [[ -n "$(ip -4 route show "${abuser_net}")" ]]; then
        echo "$0: ${host_ip%.*}.0/24 or ${abuser_net} is in use on this host; the attack bench needs them" >&2
        exit 1
    fi
    veth_rig_up "${netns}" "${host_if}" "${peer_if}" "${host_ip}" "${legit_ip}"
    local i base
    base="${first_abuser%.*}"
    for ((i = 0; i < abusers; i++)); do
        ip -n "${netns}" addr add "${base}.$((${first_abuser##*.} + i))/24" dev "${peer_if}"
    done
    ip route add "${abuser_net}" via "${legit_ip}" dev "${host_if}"
    ethtool -K "${host_if}" tso off >/dev/null
    in_netns ethtool -K "${peer_if}" gro on >/dev/null
    echo 1 | in_netns tee "/sys/class/net/${peer_if}/threaded" >/dev/null
    local -a peer_napi
    mapfile -t peer_napi < <(pgrep "^napi/${peer_if}-" || true)
    local pid
    for pid in "${peer_napi[@]}"; do taskset -pc "${client_cpu}" "${pid}" >/dev/null; done
    # Many short connections from few addresses: let the clients reuse ports in TIME_WAIT.
    in_netns sysctl -qw net.ipv4.tcp_tw_reuse=1
    in_netns nft -f - <<EOF
table inet sba_count {
    chain out {
        type filter hook output priority 0;
        ip saddr ${legit_ip} counter
        ip saddr ${abuser_net} counter
    }
}
EOF
}

# ---------------------------------------------------------------- configs

pick_ports 3
proxy_port="${ports[0]}"
status_port="${ports[1]}"
upstream_port="${ports[2]}"
export RUN_DIR="${run_dir}" HOST_IP="${host_ip}" PROXY_PORT="${proxy_port}" STATUS_PORT="${status_port}"
export UPSTREAM_PORT="${upstream_port}" QUOTA_RPS="${quota_rps}" CONN_CAP="${conn_cap}" BLOCK_S="${block_s}"
export HOST_IF="${host_if}" PIN_PATH="${pin_path}" XDP_RATE_PPS="${xdp_rate_pps}"

fill() {
    local filled
    filled="${run_dir}/$(basename "$1")"
    # shellcheck disable=SC2016 # the names of the variables to replace
    envsubst '${RUN_DIR} ${HOST_IP} ${PROXY_PORT} ${STATUS_PORT} ${UPSTREAM_PORT} ${QUOTA_RPS} ${CONN_CAP}
              ${BLOCK_S} ${HOST_IF} ${PIN_PATH} ${XDP_RATE_PPS}' <"$1" >"${filled}"
    chmod 644 "${filled}"
    echo "${filled}"
}

# ---------------------------------------------------------------- counters

admin_token=""
# The proxy's count of the requests it read (answered, refused, forwarded).
proxy_requests() {
    case "$1" in
        sluice_xdp | sluice_no_xdp)
            curl -sf -H "X-Sluice-Token: ${admin_token}" "http://127.0.0.1:${status_port}/metrics" |
                awk '/^sluice_proxy_requests_total/ { n += $2; seen = 1 } END { if (seen) printf "%d\n", n }'
            ;;
        nginx)  # its own status request is counted too: one less
            curl -sf "http://127.0.0.1:${status_port}/" | awk 'NR == 3 { print $3 - 1 }'
            ;;
        haproxy)
            curl -sf "http://127.0.0.1:${status_port}/stats;csv" |
                awk -F, '$1 == "attack" && $2 == "FRONTEND" { print $49 }'
            ;;
    esac
}

# Every counter a round needs, as one JSON object. What moves with every
# packet first, together.
snapshot() {
    local variant="$1" listen_drops blocks t_us napi host_rx host_dropped peer_dropped stat_cpu0 proxy_ticks upstream_ticks xdp nft requests
    t_us="${EPOCHREALTIME/./}"
    napi="$(<"/proc/${napi_pid}/schedstat")"
    host_rx="$(<"/sys/class/net/${host_if}/statistics/rx_packets")"
    host_dropped="$(<"/sys/class/net/${host_if}/statistics/rx_dropped")"
    peer_dropped="$(in_netns cat "/sys/class/net/${peer_if}/statistics/tx_dropped")"
    # cpu0: user nice system idle iowait irq softirq steal
    stat_cpu0="$(awk '$1 == "cpu'"${server_cpu}"'" { print "[" $5 + $6 "," $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 "," $8 "]" }' /proc/stat)"
    proxy_ticks="$(cpu_ticks "${proxy_pid}")"
    upstream_ticks="$(cpu_ticks "${upstream_pid}")"
    xdp='{}'
    if [[ -d "${pin_path}" ]]; then
        # Only the section of the bench's interface: a second section
        # ("other interfaces") has the same counter names.
        xdp="$("${sluiced}" --config "${sluice_conf}" --xdp-stats |
            awk -v ifname="${host_if}" '/^[^ ]/ { mine = ($1 == ifname); next }
                 mine && NF >= 3 { printf "%s\"%s\":%s", sep, $1, $2; sep = "," }
                 BEGIN { printf "{" } END { print "}" }')"
    fi
    nft="$(in_netns nft -j list table inet sba_count | jq -c '[.nftables[].rule? // empty | .expr[] | .counter? // empty | .packets]')"
    requests="$(proxy_requests "${variant}" || true)"
    # TCP's own drops on the host: SYNs or segments dropped by the listener (queue full).
    listen_drops="$(awk '$1 == "TcpExt:" { if (header) { for (i = 2; i <= NF; i++) if (h[i] == "ListenDrops") print $i; exit }
                                           for (i = 2; i <= NF; i++) h[i] = $i; header = 1 }' /proc/net/netstat)"
    blocks=null
    if [[ "${variant}" == sluice_* && -n "${admin_token}" ]]; then
        blocks="$(curl -sf -H "X-Sluice-Token: ${admin_token}" "http://127.0.0.1:${status_port}/v1/sys/blocks" |
            jq '.data.blocks | length' || echo null)"
    fi
    jq -cn --argjson t_us "${t_us}" --argjson napi_ns "${napi%% *}" --argjson host_rx "${host_rx}" \
        --argjson ring_drops "$((host_dropped + peer_dropped))" --argjson upstream_ticks "${upstream_ticks}" --argjson cpu0 "${stat_cpu0}" --argjson proxy_ticks "${proxy_ticks}" --argjson xdp "${xdp}" \
        --argjson nft "${nft}" --argjson requests "${requests:-null}" \
        --argjson listen_drops "${listen_drops:-0}" --argjson blocks "${blocks}" \
        '{t_us: $t_us, napi_ns: $napi_ns, host_rx: $host_rx, cpu0_idle: $cpu0[0], cpu0_total: $cpu0[1],
          cpu0_softirq: $cpu0[2], proxy_ticks: $proxy_ticks, upstream_ticks: $upstream_ticks, ring_drops: $ring_drops, xdp: $xdp,
          legit_packets: $nft[0], abuser_packets: $nft[1], proxy_requests: $requests,
          listen_drops: $listen_drops, sluice_blocks: $blocks}'
}

# ---------------------------------------------------------------- processes

load_tool="${run_dir}/attack_load"
build_load_tool() {
    g++ -std=c++20 -O2 -Wall -Wextra -Werror -o "${load_tool}" "${here}/attack_load.cpp"
}

upstream_pid=""
start_upstream() {
    start_background "${run_dir}/upstream.log" \
        taskset -c "${server_cpu}" nginx -p "${run_dir}" -e "${run_dir}/upstream-nginx.error.log" -c "${upstream_conf}"
    upstream_pid="${last_pid}"
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:${upstream_port}/" && return 0
        sleep 0.05
    done
    echo "$0: the upstream did not start on port ${upstream_port}" >&2
    exit 1
}

proxy_pid=""
proxy_problem=""
start_proxy() {
    local variant="$1"
    proxy_problem=""
    admin_token=""
    rm -rf "${run_dir}/sluice-state" "${run_dir}/admin.token"
    case "${variant}" in
        sluice_xdp) start_background "${run_dir}/proxy.log" taskset -c "${server_cpu}" "${sluiced}" --config "${sluice_conf}" ;;
        sluice_no_xdp) start_background "${run_dir}/proxy.log" taskset -c "${server_cpu}" "${sluiced}" --config "${sluice_noxdp_conf}" ;;
        nginx) start_background "${run_dir}/proxy.log" taskset -c "${server_cpu}" \
            nginx -p "${run_dir}" -e "${run_dir}/attack-nginx.error.log" -c "${nginx_conf}" ;;
        haproxy) start_background "${run_dir}/proxy.log" taskset -c "${server_cpu}" haproxy -db -f "${haproxy_conf}" ;;
    esac
    proxy_pid="${last_pid}"
    local up=""
    for _ in $(seq 200); do
        kill -0 "${proxy_pid}" 2>/dev/null || break
        [[ ! -f "${run_dir}/admin.token" ]] || admin_token="$(<"${run_dir}/admin.token")"
        if in_netns curl -s -o /dev/null "http://${host_ip}:${proxy_port}/" &&
            [[ -n "$(proxy_requests "${variant}" 2>/dev/null || true)" ]]; then
            up=yes
            break
        fi
        sleep 0.05
    done
    if [[ -z "${up}" ]]; then
        proxy_problem="${variant} did not start serving: $(tail -3 "${run_dir}/proxy.log" | tr '\n' ' ')"
        return 0
    fi
    local xdp_state
    xdp_state="$(ip -d link show dev "${host_if}")"
    if [[ "${variant}" == sluice_xdp ]]; then
        # `xdp` is the native flag; generic would show `xdpgeneric`.
        grep -q "> mtu .* xdp qdisc" <<<"${xdp_state}" || proxy_problem="XDP is not attached natively to ${host_if}"
    elif grep -q "prog/xdp" <<<"${xdp_state}"; then
        proxy_problem="an XDP program is attached to ${host_if} for ${variant}"
    fi
}

stop_proxy() {
    stop_pid "${proxy_pid}"  # sluiced: detach_on_stop detaches XDP and removes the pins
    proxy_pid=""
    [[ ! -d "${pin_path}" ]] || "${sluiced}" --config "${sluice_conf}" --xdp-detach >/dev/null
}

legit_load() {  # seconds out
    in_netns taskset -c "${client_cpu}" nice -n -5 "${load_tool}" legit --target "${host_ip}:${proxy_port}" \
        --first-source "${legit_ip}" --rate "${legit_rate}" --duration "$1" --pool 8 --out "$2"
}

abuse_load() {  # seconds out
    in_netns taskset -c "${client_cpu}" "${load_tool}" abuse --target "${host_ip}:${proxy_port}" \
        --first-source "${first_abuser}" --sources "${abusers}" --keepalive "${abuser_keepalive}" \
        --fresh "${abuser_fresh}" --timeout-ms "${abuser_timeout_ms}" --duration "$1" --out "$2"
}

# ---------------------------------------------------------------- measure

# One round of one variant: start the proxy; the legitimate client alone for
# a second (the sanity check: all answered, and with XDP, XDP saw its
# packets); then the legitimate client for lead + duration, the abusers for
# the duration from lead on. Appends the round's figures.
measure() {
    local variant="$1" round="$2" raw="$3" d="${run_dir}/r${2}-${1}" legit_pid abuse_pid
    mkdir -p "${d}"
    start_proxy "${variant}"
    napi_thread "${host_if}" "${server_cpu}"
    if [[ -z "${proxy_problem}" ]]; then
        snapshot "${variant}" >"${d}/alone_before.json"
        legit_load 1 "${d}/alone.json"
        snapshot "${variant}" >"${d}/alone_after.json"
        legit_load "$((lead_s + duration_s + 3))" "${d}/legit.json" &
        legit_pid=$!
        sleep "${lead_s}"
        snapshot "${variant}" >"${d}/before.json"
        abuse_load "${duration_s}" "${d}/abuse.json" &
        abuse_pid=$!
        # Half way: the second half's rates are the steady state's.
        sleep "$(jq -n "${duration_s} / 2")"
        snapshot "${variant}" >"${d}/mid.json"
        wait "${abuse_pid}"
        snapshot "${variant}" >"${d}/after.json"
        wait "${legit_pid}"
        # What the proxy logged (sluiced: blocks, errors), for reading afterwards.
        cp "${run_dir}/proxy.log" "${d}/proxy.log" 2>/dev/null || true
    fi
    stop_proxy
    "${python}" "${here}/round.py" --dir "${d}" --variant "${variant}" --round "${round}" \
        --problem "${proxy_problem}" --abusers "${abusers}" --threshold "${abuse_threshold_per_s}" \
        --ticks-per-s "${ticks_per_s}" >>"${raw}"
    tail -1 "${raw}" | jq -c '{variant, round, valid, why, legit: .legit.success_rate, p99: .legit.p99_ms,
        cpu: .server_cpu_s_per_s, abuse_req: .abuser_requests_to_user_space_per_s,
        abuse_pkts: .abuser_packets_to_stack_per_s, sent: .abuser_packets_sent_per_s,
        steady: .time_to_steady_state_s}' >&2
}

loadavg_start="$(cut -d' ' -f1-3 /proc/loadavg)"
readonly loadavg_start
remove_network
setup_network
build_load_tool
upstream_conf="$(fill "${peers}/upstream-nginx.conf")"
nginx_conf="$(fill "${peers}/attack-nginx.conf")"
haproxy_conf="$(fill "${peers}/attack-haproxy.cfg")"
sluice_conf="$(fill "${peers}/sluice-attack.json")"
sluice_noxdp_conf="${run_dir}/sluice-attack-no-xdp.json"
jq 'del(.xdp)' "${sluice_conf}" >"${sluice_noxdp_conf}"
readonly upstream_conf nginx_conf haproxy_conf sluice_conf sluice_noxdp_conf
"${sluiced}" --config "${sluice_conf}" --check >/dev/null
start_upstream

raw="${run_dir}/rounds.jsonl"
: >"${raw}"
for ((round = 1; round <= rounds; round++)); do
    round_order_of "${round}" "${variants[@]}"
    for variant in "${round_order[@]}"; do
        echo "round ${round}/${rounds}: ${variant}" >&2
        measure "${variant}" "${round}" "${raw}"
    done
done

mkdir -p "$(dirname "${out}")"
"${python}" "${here}/round.py" --summarize "${raw}" --variants "${variants[*]}" --setup "$(jq -cn \
    --argjson abusers "${abusers}" --argjson keepalive "${abuser_keepalive}" --argjson fresh "${abuser_fresh}" \
    --argjson timeout "${abuser_timeout_ms}" --argjson legit_rate "${legit_rate}" --argjson quota "${quota_rps}" \
    --argjson conn_cap "${conn_cap}" --argjson block_s "${block_s}" --argjson xdp_rate "${xdp_rate_pps}" \
    --argjson duration "${duration_s}" --argjson rounds "${rounds}" --argjson lead "${lead_s}" \
    --argjson threshold "${abuse_threshold_per_s}" \
    --arg loadavg "$(cut -d' ' -f1-3 /proc/loadavg)" --arg loadavg_start "${loadavg_start}" \
    --arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" --arg commit "$(git -C "${repo}" describe --always --dirty 2>/dev/null || echo unknown)" \
    --arg versions "$(nginx -v 2>&1 | sed 's/.*: //'), HAProxy $(haproxy -v | sed -n '1s/HAProxy version \([^ ]*\).*/\1/p')" '
    {abusers: "\($abusers) addresses, each \($keepalive) keep-alive connections (closed loop) + \($fresh) connections of one request each, as fast as answered; a connect or answer over \($timeout) ms is given up and retried; CPU '"${client_cpu}"', nice 0",
     legit_client: "\($legit_rate) requests/s open loop (latency from when each was due), keep-alive pool of up to 8, own address, CPU '"${client_cpu}"', nice -5",
     limits: "per IP \($quota) requests/s (burst \($quota)), \($conn_cap) connections; sluiced block_interval \($block_s) s, XDP rate \($xdp_rate) pps/source",
     server: "proxy (1 worker/thread) and the host veth NAPI kthread on CPU '"${server_cpu}"'; upstream nginx (1 worker) on CPU '"${server_cpu}"' too (what the proxy forwards costs the server)",
     duration_s: $duration, rounds: $rounds, lead_s: $lead, steady_abuse_threshold_per_s: $threshold,
     date: $date, commit: $commit, load_average_start: $loadavg_start, load_average_end: $loadavg,
     versions: $versions}')" >"${out}"
echo "wrote ${out}" >&2
