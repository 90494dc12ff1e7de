# Sourced by the part runners (bench/http/run.sh, bench/flood/run.sh,
# bench/attack/run.sh): their common command line, `--build DIR --out FILE
# [--quick]`, the starting and stopping of the processes they start (pids
# kept in their array `started`), free ports, process CPU time, and the
# veth rig of the flood and attack parts.
#
#   rounds=3 duration_s=10 parse_runner_args "$@"
#
# sets build_dir, out, rounds and duration_s; --quick makes it one round of
# 2 s, for trying things out.
# shellcheck shell=bash disable=SC2034 # the variables are for the sourcing runner

runner_usage() {
    echo "usage: $0 --build DIR --out FILE [--quick]" >&2
    exit 2
}

parse_runner_args() {
    build_dir=""
    out=""
    while (($# > 0)); do
        case "$1" in
            --build) build_dir="${2:?}"; shift 2 ;;
            --out) out="${2:?}"; shift 2 ;;
            --quick) rounds=1; duration_s=2; shift ;;
            *) runner_usage ;;
        esac
    done
    [[ -n "${build_dir}" && -n "${out}" ]] || runner_usage
}

# Stops one background process the runner started and forgets it (its pid
# may be reused once it is gone).
stop_pid() {
    local pid="$1" p
    local -a kept=()
    for p in "${started[@]}"; do [[ "${p}" == "${pid}" ]] || kept+=("${p}"); done
    started=("${kept[@]}")
    kill -TERM "${pid}" 2>/dev/null || return 0
    wait "${pid}" 2>/dev/null || true
}

# Starts a background process (its output to `log`) and remembers it in
# `started`; sets last_pid. File descriptor 9 (the runners' lock) is not
# inherited: a server left behind by a killed run must not hold the lock.
last_pid=""
start_background() {
    local log="$1"; shift
    "$@" >"${log}" 2>&1 9>&- &
    last_pid=$!
    started+=("${last_pid}")
}

# A TCP port nothing on this host uses, below the ephemeral range (no
# outgoing connection can take it between the check and its use).
free_port() {
    local port ephemeral_low
    read -r ephemeral_low _ </proc/sys/net/ipv4/ip_local_port_range
    for _ in $(seq 100); do
        port=$((10000 + RANDOM % (ephemeral_low - 10000)))
        [[ -z "$(ss -Htan "( sport = :${port} or dport = :${port} )")" ]] && { echo "${port}"; return 0; }
    done
    echo "$0: no free port found" >&2
    exit 1
}

# CPU time (user + system, clock ticks) used so far by a process and its
# child processes (nginx's worker is the master's child).
ticks_per_s="$(getconf CLK_TCK)"
cpu_ticks() {
    local pid total=0
    for pid in "$1" $(pgrep -P "$1" || true); do
        # Fields after "pid (comm) ": utime and stime are the 12th and 13th.
        total=$((total + $(sed 's/.*) //' "/proc/${pid}/stat" | awk '{print $12 + $13}')))
    done
    echo "${total}"
}

# The veth rig of the flood and attack parts:
#   root namespace  host_if host_ip/24 <--veth--> peer_if peer_ip/24  namespace netns
# Both neighbours are permanent: an ARP lost in a full veth ring must not
# cut a client off. The host veth has a NAPI (a ring that redirected frames
# can go to) only with XDP attached or GRO on: GRO on, for every filter, as
# on a real NIC. The peer's skbs take that NAPI (and so the host's XDP
# program) only if the peer has no TSO: veth hands an skb of a TSO-capable
# sender straight to netif_rx, on the sender's CPU, past XDP (attaching XDP
# turns the peer's TSO off by itself, detaching turns it back on unless it
# was switched off by hand, as here). NAPI threaded: the host's whole
# receive path is one kthread (napi_thread below).
veth_rig_up() {
    local ns="$1" hif="$2" pif="$3" hip="$4" pip="$5"
    ip netns add "${ns}"
    ip link add "${hif}" type veth peer name "${pif}" netns "${ns}"
    ip addr add "${hip}/24" dev "${hif}"
    ip link set "${hif}" up
    ip -n "${ns}" addr add "${pip}/24" dev "${pif}"
    ip -n "${ns}" link set "${pif}" up
    ip -n "${ns}" link set lo up
    ip neigh replace "${pip}" lladdr "$(ip netns exec "${ns}" cat "/sys/class/net/${pif}/address")" \
        dev "${hif}" nud permanent
    ip -n "${ns}" neigh replace "${hip}" lladdr "$(cat "/sys/class/net/${hif}/address")" \
        dev "${pif}" nud permanent
    ethtool -K "${hif}" gro on >/dev/null
    ip netns exec "${ns}" ethtool -K "${pif}" tso off >/dev/null
    echo 1 >"/sys/class/net/${hif}/threaded"
}

# The pid of an interface's one NAPI kthread (napi/IF-N), pinned to `cpu`.
# Run it in the current shell (not in $(...)): it sets napi_pid, and exits
# the runner when there is not exactly one such thread.
napi_pid=""
napi_thread() {
    local ifname="$1" cpu="$2"
    local -a pids
    mapfile -t pids < <(pgrep "^napi/${ifname}-" || true)
    if ((${#pids[@]} != 1)); then
        echo "$0: expected one NAPI thread napi/${ifname}-*, found ${#pids[@]}" >&2
        exit 1
    fi
    napi_pid="${pids[0]}"
    taskset -pc "${cpu}" "${napi_pid}" >/dev/null
}
