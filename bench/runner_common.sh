# Sourced by the part runners (bench/http/run.sh, bench/redis/run.sh,
# bench/flood/run.sh, bench/attack/run.sh, bench/fleet/run.sh): their common
# command line, `--build DIR --out FILE [--quick] [--rounds N]`, the checks
# of what a runner needs (tools, CPUs, root, sluiced, its lock), its run
# folder and its cleanup on exit, the starting and stopping of the processes
# it starts (pids kept in the array `started`), free ports, the order of a
# round, process CPU time, the jq definitions its summary of the rounds
# uses, the run's own redis-server (the Redis and fleet parts), and the veth
# rig of the flood, attack and fleet parts.
#
#   rounds=3 duration_s=10 parse_runner_args "$@"
#
# sets build_dir, out, rounds, duration_s and quick; --quick makes it one
# round of 2 s, for trying things out (and quick=1); --rounds N makes it N
# rounds, whatever its place beside --quick. With default_out=NAME set as
# well, --out is optional: DIR/NAME. A runner with options of its own takes
# them out of "$@" first and passes the rest.
# shellcheck shell=bash disable=SC2034 # the variables are for the sourcing runner

runner_usage() {
    echo "usage: $0 --build DIR --out FILE [--quick] [--rounds N]" >&2
    exit 2
}

quick=""
parse_runner_args() {
    local rounds_wanted=""
    build_dir=""
    out=""
    while (($# > 0)); do
        case "$1" in
            --build) build_dir="${2:?}"; shift 2 ;;
            --out) out="${2:?}"; shift 2 ;;
            --quick) rounds=1; duration_s=2; quick=1; shift ;;
            --rounds) rounds_wanted="${2:?--rounds needs a number}"; shift 2 ;;
            *) runner_usage ;;
        esac
    done
    if [[ -z "${out}" && -n "${build_dir}" && -n "${default_out:-}" ]]; then out="${build_dir}/${default_out}"; fi
    [[ -n "${build_dir}" && -n "${out}" ]] || runner_usage
    if [[ -n "${rounds_wanted}" ]]; then
        [[ "${rounds_wanted}" =~ ^[1-9][0-9]*$ ]] || { echo "$0: --rounds ${rounds_wanted}: not a count" >&2; exit 2; }
        rounds="${rounds_wanted}"
    fi
}

# Exits (1) unless every named tool is on PATH; `install` says how to get
# them.
#   require_tools "scripts/install-deps.sh --bench" nginx jq curl
require_tools() {
    local install="$1" tool
    shift
    for tool in "$@"; do
        command -v "${tool}" >/dev/null || { echo "$0: ${tool} is missing (${install})" >&2; exit 1; }
    done
}

# Exits 77 (the part is skipped) unless run as root; `needs` says what for.
require_root() {
    local needs="$1"
    if ((EUID != 0)); then
        echo "$0: needs root for ${needs}; not run" >&2
        exit 77
    fi
}

# One run at a time of a runner whose names (interfaces, namespaces, pins)
# are fixed: takes the lock `file` on file descriptor 9 (start_background
# keeps it from the processes it starts), or exits (1) when another run of
# `what` holds it.
hold_lock() {
    local file="$1" what="$2"
    mkdir -p "$(dirname "${file}")"
    exec 9>"${file}"
    flock -n 9 || { echo "$0: another ${what} holds ${file}" >&2; exit 1; }
}

# Exits 77 (the part is skipped) on a machine with fewer than 2 CPUs;
# `roles` says what each of the two is for.
require_two_cpus() {
    local roles="$1"
    if (($(nproc) < 2)); then
        echo "$0: needs 2 CPUs (${roles}); this machine has $(nproc)" >&2
        exit 77
    fi
}

# The absolute path of the sluiced in a build folder; exits (1) when there
# is none. Assign it on its own (not with `readonly`, which would hide the
# failure):
#   sluiced="$(sluiced_in "${build_dir}")"
sluiced_in() {
    local dir="$1" path
    path="$(cd "${dir}" && pwd)/sluiced"
    [[ -x "${path}" ]] || { echo "$0: no sluiced in ${dir} (build it first)" >&2; exit 1; }
    echo "${path}"
}

# The run folder and the cleanup on exit:
#
#   make_run_dir NAME [STEP...]
#
# sets run_dir (read-only), a new folder /tmp/sluice-NAME-bench.XXXXXX for
# the run's configs, logs and figures, and makes the runner's exit (EXIT;
# INT and TERM exit 130) stop every process in `started`, run each STEP (a
# function of the runner's own undoing, e.g. its network), then remove
# run_dir, or keep it and say where when SLUICE_BENCH_KEEP is set. Call it
# in the runner's shell, not in $(...).
declare -a cleanup_steps=()
make_run_dir() {
    local name="$1"
    shift
    run_dir="$(mktemp -d "/tmp/sluice-${name}-bench.XXXXXX")"
    # nginx workers run as nobody when started by root: they must reach
    # their temp folders.
    chmod 755 "${run_dir}"
    readonly run_dir
    cleanup_steps=("$@")
    trap cleanup_run EXIT
    trap 'exit 130' INT TERM
}

cleanup_run() {
    local pid step
    for pid in "${started[@]}"; do stop_pid "${pid}"; done
    for step in "${cleanup_steps[@]}"; do "${step}"; done
    if [[ -n "${SLUICE_BENCH_KEEP:-}" ]]; then
        echo "$0: kept ${run_dir}" >&2
    else
        rm -rf "${run_dir}"
    fi
}

# The order of a round's measurements: `items` rotated by the round (from
# 1), into `round_order`. Each round starts one item later: none always runs
# first, or right after the same neighbour.
#   round_order_of "${round}" "${targets[@]}"
declare -a round_order=()
round_order_of() {
    local round="$1" shift_by
    shift
    shift_by=$(((round - 1) % $#))
    round_order=("${@:shift_by + 1}" "${@:1:shift_by}")
}

# Runs a command line kept as one string (for the JSON), split on spaces: no
# argument has any.
run_line() {
    local -a words
    read -ra words <<<"$1"
    "${words[@]}"
}

declare -a started=()  # pids of every background process the runner started

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

# Distinct TCP ports nothing on this host listens on or connects from, into
# `ports` (as many as `count`), below the ephemeral range: no outgoing
# connection (a load tool's, a proxy's) can take one between the check and
# its use, or between two rounds.
declare -a ports=()
pick_ports() {
    local count="$1" port ephemeral_low
    read -r ephemeral_low _ </proc/sys/net/ipv4/ip_local_port_range
    if ((ephemeral_low <= 10100)); then
        echo "$0: the ephemeral port range starts at ${ephemeral_low}: no room for fixed ports below it" >&2
        exit 1
    fi
    for _ in $(seq 1000); do
        ((${#ports[@]} < count)) || return 0
        port=$((10000 + RANDOM % (ephemeral_low - 10000)))
        [[ " ${ports[*]} " == *" ${port} "* ]] && continue
        [[ -z "$(ss -Htan "( sport = :${port} or dport = :${port} )")" ]] && ports+=("${port}")
    done
    echo "$0: no free ports found" >&2
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

# jq definitions for a runner's summary of its rounds (each round an object
# with `valid` and, when not valid, `why`); put them before its program:
#   median         of an array of numbers: the middle one, or the mean of
#                  the middle two; null when empty
#   rounds_to_use  of an array of rounds: the valid ones, or all of them
#                  when none is
#   validity       of an array of rounds: {valid: true} when all are valid,
#                  else {valid: false, why: "round N: why; ..."}
# shellcheck disable=SC2016 # jq's $variables, not the shell's
readonly jq_rounds_defs='
    def median: sort | if length == 0 then null
                       elif length % 2 == 1 then .[length / 2 | floor]
                       else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def rounds_to_use: [.[] | select(.valid)] as $valid | if ($valid | length) > 0 then $valid else . end;
    def validity:
        (([.[] | select(.valid)] | length) == length) as $all_valid
        | {valid: $all_valid}
          + (if $all_valid then {}
             else {why: ([.[] | select(.valid | not) | "round \(.round): \(.why)"] | join("; "))} end);'

# The run's own redis-server, on 127.0.0.1:${redis_port} (the runner sets
# redis_port, e.g. from pick_ports): nothing saved, its files in run_dir,
# its log run_dir/redis.log; `redis ARGS...` is redis-cli to it.
#   start_redis [PREFIX...]     e.g. start_redis taskset -c 1
# starts it behind PREFIX, sets redis_pid and waits until it answers PING;
# exits the runner when it does not start.
redis_pid=""
# shellcheck disable=SC2154 # redis_port: the runner's
redis() { redis-cli -p "${redis_port}" "$@"; }
start_redis() {
    start_background "${run_dir}/redis.log" "$@" redis-server --port "${redis_port}" \
        --bind 127.0.0.1 --save "" --appendonly no --dir "${run_dir}" --daemonize no
    redis_pid="${last_pid}"
    for _ in $(seq 100); do
        [[ "$(redis PING 2>/dev/null)" == PONG ]] && return 0
        kill -0 "${redis_pid}" 2>/dev/null || break
        sleep 0.05
    done
    echo "$0: redis-server did not start:" >&2
    tail -5 "${run_dir}/redis.log" >&2
    exit 1
}

# INFO commandstats as {command: {calls, usec}}, without the runner's own
# commands (INFO, CONFIG RESETSTAT).
redis_commandstats() {
    redis INFO commandstats | tr -d '\r' | awk -F'[:,=]' '
        /^cmdstat_/ {
            name = substr($1, 9)
            if (name == "info" || name ~ /^config/) next
            calls = ""; usec = ""
            for (i = 2; i < NF; i += 2) { if ($i == "calls") calls = $(i + 1); if ($i == "usec") usec = $(i + 1) }
            printf "%s\"%s\":{\"calls\":%s,\"usec\":%s}", sep, name, calls, usec
            sep = ","
        }
        BEGIN { printf "{" }
        END { print "}" }'
}

# The veth rig of the flood, attack and fleet parts:
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

# Undoes veth_rig_up and what a runner attached to it, whether this run or a
# killed one made them: sluiced's XDP program pinned at `pin` detached (by
# the sluiced with `config`, else the pins removed), the veth pair and the
# namespace deleted. Anything not there is passed over.
veth_rig_down() {
    local ns="$1" hif="$2" pin="$3" config="$4"
    # shellcheck disable=SC2154 # sluiced: the runner's
    if [[ -d "${pin}" ]]; then
        "${sluiced}" --config "${config}" --xdp-detach >/dev/null 2>&1 || rm -rf "${pin}"
    fi
    ip link del "${hif}" 2>/dev/null || true
    ip netns del "${ns}" 2>/dev/null || true
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
