#!/usr/bin/env bash
# HTTP proxying with rate limits: sluiced against nginx (limit_req) and
# HAProxy (stick table), each a one-thread reverse proxy pinned to CPU 0 in
# front of the same nginx upstream; wrk and the upstream share CPU 1. "direct"
# is wrk straight to the upstream: the floor every proxy adds its cost to.
#
#   bench/http/run.sh --build DIR --out FILE [--quick] [--baseline OLD_DIR]
#                     [--rounds N] [--scenarios ID,...] [--targets NAME,...]
#
# DIR holds sluiced (a CMake build folder). FILE gets the JSON the report
# generator reads (see bench/README.md). --quick: one round of 2 s instead of
# three of 10 s, for trying things out. --baseline: OLD_DIR's sluiced (an
# earlier commit's build) runs as one more target, "baseline", interleaved
# with the others in every round, for a before/after in one run. --rounds,
# --scenarios and --targets narrow a run to what a comparison needs (e.g.
# --targets sluice,baseline --scenarios no_limits --rounds 10); the report
# generator wants a full run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
readonly here repo
readonly peers="${repo}/bench/peers"
readonly wrk_script="${here}/api_keys.lua"

# Where each process runs. Every proxy gets CPU 0 alone; wrk and the upstream
# are the same work for every proxy, so sharing CPU 1 shifts all alike.
readonly proxy_cpu=0
readonly load_cpu=1

# One wrk thread (it has one CPU) and 64 connections: enough requests in
# flight to keep a one-thread proxy busy all the time, few enough that the
# latency percentiles are not mostly time spent queued inside the proxy.
readonly wrk_threads=1
readonly wrk_connections=64
readonly wrk_timeout=2s
readonly warmup_s=2

# shellcheck source=bench/runner_common.sh
source "${here}/../runner_common.sh"
rounds=3
duration_s=10
baseline_dir=""
scenarios_wanted=""
targets_wanted=""
declare -a runner_args=()
while (($# > 0)); do
    case "$1" in
        --baseline) baseline_dir="${2:?--baseline needs a build folder}"; shift 2 ;;
        --scenarios) scenarios_wanted="${2:?--scenarios needs a list}"; shift 2 ;;
        --targets) targets_wanted="${2:?--targets needs a list}"; shift 2 ;;
        *) runner_args+=("$1"); shift ;;
    esac
done
parse_runner_args "${runner_args[@]}"
sluiced="$(sluiced_in "${build_dir}")"
readonly sluiced
baseline_sluiced=""
if [[ -n "${baseline_dir}" ]]; then baseline_sluiced="$(sluiced_in "${baseline_dir}")"; fi
readonly baseline_sluiced
require_tools "scripts/install-deps.sh" wrk nginx haproxy taskset jq curl envsubst ss
require_two_cpus "the proxy pinned to one, the load to the other"

make_run_dir http

pick_ports 5
upstream_port="${ports[0]}"
many_keys_port="${ports[1]}"
half_refused_port="${ports[2]}"
no_limits_port="${ports[3]}"
sluice_port="${ports[4]}"
export RUN_DIR="${run_dir}" UPSTREAM_PORT="${upstream_port}" PROXY_PORT="${sluice_port}"
export MANY_KEYS_PORT="${many_keys_port}" HALF_REFUSED_PORT="${half_refused_port}" NO_LIMITS_PORT="${no_limits_port}"
# shellcheck disable=SC2016 # envsubst takes the names literally
readonly substituted='${RUN_DIR} ${UPSTREAM_PORT} ${PROXY_PORT} ${MANY_KEYS_PORT} ${HALF_REFUSED_PORT} ${NO_LIMITS_PORT}'

# A peer's template with the ports and folders filled in, in the run folder
# (never in the source tree). Only the listed variables are replaced:
# nginx's own $variables stay.
fill() {
    local template="$1" filled
    filled="${run_dir}/$(basename "$1")"
    envsubst "${substituted}" <"${template}" >"${filled}"
    echo "${filled}"
}

# The scenarios: id, title, keys, paths (api_keys.lua), the proxies'
# expected refused fraction. Half refused needs every key's /limited requests
# far above 1/s whatever the proxy's speed: 100 keys at >= 2k requests/s give
# >= 10/s each, so >= 90% of /limited and 45-50% of all are refused.
readonly all_scenario_ids=(many_keys_no_refusals half_refused no_limits)
declare -A title=(
    [many_keys_no_refusals]="100k keys, nothing refused"
    [half_refused]="100 keys, /limited 1 r/s per key, half refused"
    [no_limits]="no limits configured"
)
declare -A keys=([many_keys_no_refusals]=100000 [half_refused]=100 [no_limits]=100000)
declare -A paths=([many_keys_no_refusals]=one [half_refused]=alternate [no_limits]=one)
declare -A expected=([many_keys_no_refusals]="0 0.001" [half_refused]="0.45 0.55" [no_limits]="0 0.001")
declare -A peer_port=([many_keys_no_refusals]="${many_keys_port}" [half_refused]="${half_refused_port}"
                      [no_limits]="${no_limits_port}")
# The upstream answers everything: direct is never refused.
readonly direct_expected="0 0.001"
if [[ -n "${baseline_sluiced}" ]]; then
    all_targets=(sluice baseline nginx haproxy direct)
else
    all_targets=(sluice nginx haproxy direct)
fi

# The members of `wanted` (comma-separated; empty: all) in the order of
# `known`, into `chosen`; a name not known is an error.
declare -a chosen=()
choose() {
    local what="$1" wanted="$2" name
    shift 2
    chosen=()
    if [[ -z "${wanted}" ]]; then
        chosen=("$@")
        return 0
    fi
    for name in ${wanted//,/ }; do
        [[ " $* " == *" ${name} "* ]] || { echo "$0: no ${what} '${name}' (known: $*)" >&2; exit 2; }
    done
    for name in "$@"; do
        if [[ ",${wanted}," == *",${name},"* ]]; then chosen+=("${name}"); fi
    done
}
choose scenario "${scenarios_wanted}" "${all_scenario_ids[@]}"
readonly scenario_ids=("${chosen[@]}")
choose target "${targets_wanted}" "${all_targets[@]}"
readonly targets=("${chosen[@]}")

upstream_conf="$(fill "${peers}/upstream-nginx.conf")"
nginx_conf="$(fill "${peers}/nginx.conf")"
haproxy_conf="$(fill "${peers}/haproxy.cfg")"
readonly upstream_conf nginx_conf haproxy_conf
declare -A sluice_conf
for scenario in "${scenario_ids[@]}"; do sluice_conf[${scenario}]="$(fill "${peers}/sluice-${scenario}.json")"; done

# The command line that starts each server (on its CPU).
upstream_command() { echo "taskset -c ${load_cpu} nginx -p ${run_dir} -e ${run_dir}/upstream-nginx.error.log -c ${upstream_conf}"; }
proxy_command() {
    local target="$1" scenario="$2"
    case "${target}" in
        sluice) echo "taskset -c ${proxy_cpu} ${sluiced} --config ${sluice_conf[${scenario}]}" ;;
        baseline) echo "taskset -c ${proxy_cpu} ${baseline_sluiced} --config ${sluice_conf[${scenario}]}" ;;
        nginx) echo "taskset -c ${proxy_cpu} nginx -p ${run_dir} -e ${run_dir}/nginx.error.log -c ${nginx_conf}" ;;
        haproxy) echo "taskset -c ${proxy_cpu} haproxy -db -f ${haproxy_conf}" ;;
    esac
}
target_port() {
    local target="$1" scenario="$2"
    case "${target}" in
        sluice | baseline) echo "${sluice_port}" ;;
        nginx | haproxy) echo "${peer_port[${scenario}]}" ;;
        direct) echo "${upstream_port}" ;;
    esac
}
wrk_command() {
    local port="$1" scenario="$2" seconds="$3"
    echo "taskset -c ${load_cpu} wrk -t${wrk_threads} -c${wrk_connections} -d${seconds}s --timeout ${wrk_timeout}" \
        "-s ${wrk_script} http://127.0.0.1:${port} -- ${keys[${scenario}]} ${paths[${scenario}]}"
}

# Starts a server and waits until `port` accepts. Sets server_pid; called in
# this shell, not a subshell, so that `wait` and the cleanup know the server.
server_pid=""
start_server() {
    local command="$1" port="$2" log="$3"
    # exec: the pid is the server's own, so TERM reaches it.
    (
        read -ra words <<<"${command}"
        exec "${words[@]}"
    ) >"${log}" 2>&1 &
    server_pid=$!
    started+=("${server_pid}")
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:${port}/" && return 0
        kill -0 "${server_pid}" 2>/dev/null || break
        sleep 0.05
    done
    echo "$0: '${command}' did not start serving on port ${port}:" >&2
    tail -5 "${log}" >&2
    stop_pid "${server_pid}"
    server_pid=""
    return 1
}

status_of() {
    local port="$1" path="$2" key="$3"
    curl -s -o /dev/null -w '%{http_code}' -H "X-Api-Key: ${key}" "http://127.0.0.1:${port}${path}"
}

# Empty when the target answers as the scenario says (a key outside the
# benchmark's key set, so no counter of the run is touched); else why not.
sanity_problem() {
    local target="$1" scenario="$2" port="$3" first second open
    if [[ "${scenario}" == half_refused && "${target}" != direct ]]; then
        first="$(status_of "${port}" /limited/item sanity-check)"
        second="$(status_of "${port}" /limited/item sanity-check)"
        open="$(status_of "${port}" /open/item sanity-check)"
        [[ "${first} ${second} ${open}" == "200 429 200" ]] ||
            echo "sanity: /limited twice, /open gave ${first} ${second} ${open}, expected 200 429 200"
    else
        first="$(status_of "${port}" /item sanity-check)"
        [[ "${first}" == 200 ]] || echo "sanity: /item gave ${first}, expected 200"
    fi
}

# One measurement: start the target, check it, warm it up, time it, stop
# it. Appends one JSON object (the round's raw figures) to `raw`.
measure() {
    local target="$1" scenario="$2" round="$3" raw="$4"
    local port problem="" line='{}' lo hi cpu_before cpu_s=null
    port="$(target_port "${target}" "${scenario}")"
    server_pid=""
    if [[ "${target}" != direct ]]; then
        start_server "$(proxy_command "${target}" "${scenario}")" "${port}" "${run_dir}/${target}.log" ||
            problem="did not start: $(tail -1 "${run_dir}/${target}.log")"
    fi
    [[ -n "${problem}" ]] || problem="$(sanity_problem "${target}" "${scenario}" "${port}")"
    if [[ -n "${server_pid}" || "${target}" == direct ]]; then
        run_line "$(wrk_command "${port}" "${scenario}" "${warmup_s}")" >/dev/null || true
        [[ -z "${server_pid}" ]] || cpu_before="$(cpu_ticks "${server_pid}")"
        line="$(run_line "$(wrk_command "${port}" "${scenario}" "${duration_s}")" | grep '^{"requests"' || echo '{}')"
        [[ -z "${server_pid}" ]] ||
            cpu_s="$(jq -n "($(cpu_ticks "${server_pid}") - ${cpu_before}) / ${ticks_per_s}")"
    fi
    if [[ -n "${server_pid}" ]]; then stop_pid "${server_pid}"; fi
    if [[ "${target}" == direct ]]; then read -r lo hi <<<"${direct_expected}"; else read -r lo hi <<<"${expected[${scenario}]}"; fi
    jq -c --arg target "${target}" --arg scenario "${scenario}" --argjson round "${round}" \
        --argjson lo "${lo}" --argjson hi "${hi}" --arg problem "${problem}" --argjson cpu_s "${cpu_s}" '
        (if (.requests // 0) > 0 then .errors.status / .requests else null end) as $refused
        | (if $problem != "" then $problem
           elif .requests == null then "wrk printed no figures"
           elif (.errors.connect + .errors.read + .errors.write + .errors.timeout) > 0 then
             "socket errors: \(.errors)"
           elif $refused < $lo or $refused > $hi then
             "refused fraction \($refused * 1000 | round / 1000) outside [\($lo), \($hi)]"
           else "" end) as $why
        | {target: $target, scenario: $scenario, round: $round,
           requests: .requests, duration_s: .duration_s,
           requests_per_s: .requests_per_s, p50_ms: .p50_ms, p99_ms: .p99_ms, p999_ms: .p999_ms,
           refused_fraction: $refused,
           proxy_cpu_s: $cpu_s,
           proxy_cpu_us_per_request:
             (if $cpu_s != null and (.requests // 0) > 0 then $cpu_s * 1e6 / .requests else null end),
           errors: (if .errors then .errors.connect + .errors.read + .errors.write + .errors.timeout else null end),
           status_errors: .errors.status,
           valid: ($why == "")}
        + (if $why == "" then {} else {why: $why} end)' <<<"${line}" >>"${raw}"
    tail -1 "${raw}" >&2
}

# Other work on the machine moves every figure: the load average is kept
# with them.
loadavg_start="$(cut -d' ' -f1-3 /proc/loadavg)"
start_server "$(upstream_command)" "${upstream_port}" "${run_dir}/upstream.log"
upstream_pid="${server_pid}"

raw="${run_dir}/rounds.jsonl"
: >"${raw}"
for ((round = 1; round <= rounds; round++)); do
    for scenario in "${scenario_ids[@]}"; do
        round_order_of "${round}" "${targets[@]}"
        for target in "${round_order[@]}"; do
            echo "round ${round}/${rounds}: ${scenario}: ${target}" >&2
            measure "${target}" "${scenario}" "${round}" "${raw}"
        done
    done
done
stop_pid "${upstream_pid}"

# wrk -v prints its version with the usage text and exits 1.
wrk_banner="$(wrk -v 2>&1 | head -1 || true)"
wrk_version="$(sed -E 's/^wrk ([^ ]*\/)?([0-9.]+).*/\2/' <<<"${wrk_banner}")"
expected_json="$(for s in "${scenario_ids[@]}"; do
    read -r lo hi <<<"${expected[${s}]}"
    jq -cn --arg id "${s}" --arg title "${title[${s}]}" --argjson keys "${keys[${s}]}" \
        --arg paths "${paths[${s}]}" --argjson lo "${lo}" --argjson hi "${hi}" \
        '{id: $id, title: $title, keys: $keys, paths: $paths, expected_refused: [$lo, $hi]}'
done | jq -sc .)"
read -r direct_lo direct_hi <<<"${direct_expected}"

mkdir -p "$(dirname "${out}")"
jq -s \
    --arg wrk "wrk ${wrk_version}" --argjson threads "${wrk_threads}" --argjson connections "${wrk_connections}" \
    --argjson duration "${duration_s}" --argjson warmup "${warmup_s}" --argjson rounds "${rounds}" \
    --argjson proxy_cpu "${proxy_cpu}" --argjson load_cpu "${load_cpu}" \
    --arg loadavg_start "${loadavg_start}" --arg loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --arg nginx "$(nginx -v 2>&1 | sed 's/^nginx version: //')" \
    --arg haproxy "$(haproxy -v | head -1)" \
    --arg sluiced "$(git -C "${repo}" describe --always --dirty 2>/dev/null || "${sluiced}" --version)" \
    --arg wrk_full "${wrk_banner}" \
    --argjson scenarios "${expected_json}" --argjson direct_lo "${direct_lo}" --argjson direct_hi "${direct_hi}" \
    --argjson targets "$(printf '%s\n' "${targets[@]}" | jq -R . | jq -sc .)" \
    --arg baseline "${baseline_sluiced}" \
    --arg cmd_upstream "$(upstream_command)" \
    --arg cmd_sluice "taskset -c ${proxy_cpu} ${sluiced} --config ${run_dir}/sluice-<scenario>.json" \
    --arg cmd_nginx "$(proxy_command nginx x)" --arg cmd_haproxy "$(proxy_command haproxy x)" \
    --arg cmd_wrk "$(wrk_command '<port>' many_keys_no_refusals "${duration_s}" | sed 's/-- 100000 one$/-- <keys> <paths>/')" \
    --arg cmd_warmup "$(wrk_command '<port>' many_keys_no_refusals "${warmup_s}" | sed 's/-- 100000 one$/-- <keys> <paths>/')" \
    "${jq_rounds_defs}"'
    def summary:
        . as $rounds
        | rounds_to_use as $use
        | reduce ("requests_per_s", "p50_ms", "p99_ms", "p999_ms", "refused_fraction", "errors",
                  "proxy_cpu_us_per_request") as $m
            ({}; .[$m] = ([$use[][$m] | select(. != null)] | median))
        + validity
        + {rounds: [$rounds[] | del(.target, .scenario)]};
    . as $all
    | {
        load: {tool: $wrk, threads: $threads, connections: $connections, duration_s: $duration,
               warmup_s: $warmup, rounds: $rounds},
        pinning: {proxy: [$proxy_cpu], load_and_upstream: [$load_cpu]},
        loadavg: {start: $loadavg_start, end: $loadavg_end},
        versions: ({nginx: $nginx, haproxy: $haproxy, sluiced: $sluiced, wrk: $wrk_full}
                   + (if $baseline == "" then {} else {baseline_sluiced: $baseline} end)),
        commands: {upstream: $cmd_upstream, sluice: $cmd_sluice,
                   nginx: $cmd_nginx, haproxy: $cmd_haproxy, wrk_warmup: $cmd_warmup, wrk: $cmd_wrk},
        direct_expected_refused: [$direct_lo, $direct_hi],
        scenarios: [$scenarios[] | . as $s
            | . + {results: (reduce $targets[] as $t
                ({}; .[$t] = ([$all[] | select(.scenario == $s.id and .target == $t)] | summary)))}]
      }' "${raw}" >"${out}"
echo "wrote ${out}" >&2
