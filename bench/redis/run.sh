#!/usr/bin/env bash
# What the Redis store costs, beside its peers (bench/README.md, part 6):
#
#   latency   sluiced with the Redis store against sluiced with the local
#             store, the same quotas, at a fixed 5,000 requests/s: p50/p99
#             and what Redis adds to them (goal: p99 added <= 1 ms);
#   calls     Redis commands per request from INFO commandstats, with
#             half of the requests refused: one script call per admitted
#             request, about none per refused one (the refusal cache);
#   baseline  the same half-refused load sent as one script call per
#             request, as Traefik (token bucket, EVALSHA) and Kong (fixed
#             window, EVAL of INCR + EXPIRE) do: Redis's CPU and round trips
#             per request, Sluice's over theirs.
#
#   bench/redis/run.sh --build DIR [--out FILE] [--quick] [--rounds N] [--rate R]
#
# DIR holds sluiced (a CMake build folder); the load tool (paced_load.cpp) is
# compiled by this script. FILE (default DIR/bench-redis.json) gets every
# round and the medians. Three rounds of 10 s (--quick: one of 2 s), each
# after 2 s of warm-up, the targets of a scenario in an order rotated every
# round. sluiced runs on CPU 0 (with a baseline's driver, which stands for
# that proxy's Redis client); redis-server, the upstream (nginx) and the
# HTTP load share CPU 1. No root needed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
readonly here repo
readonly peers="${repo}/bench/peers"

readonly proxy_cpu=0
readonly load_cpu=1

# The load: a fixed rate, open loop. 16 keep-alive connections to sluiced
# (one request at a time on each) are far more than 5,000 requests/s of
# sub-millisecond answers keep busy. The baselines' calls go over one Redis
# connection, pipelined, as sluiced's do (threads: 1 is one event loop, and
# each loop has one connection to Redis on which its calls are pipelined).
rate=5000
readonly http_connections=16
readonly redis_connections=1
readonly warmup_s=2

# shellcheck source=bench/runner_common.sh
source "${here}/../runner_common.sh"
rounds=3
duration_s=10
declare -a runner_args=()
while (($# > 0)); do
    case "$1" in
        --rate) rate="${2:?--rate needs requests/s}"; shift 2 ;;
        *) runner_args+=("$1"); shift ;;
    esac
done
default_out=bench-redis.json parse_runner_args "${runner_args[@]}"
[[ "${rate}" =~ ^[1-9][0-9]*$ ]] || { echo "$0: --rate ${rate}: not requests/s" >&2; exit 2; }
readonly rate rounds duration_s
sluiced="$(sluiced_in "${build_dir}")"
readonly sluiced
require_tools "scripts/install-deps.sh --bench" redis-server redis-cli nginx taskset jq curl envsubst ss g++
require_two_cpus "sluiced pinned to one, Redis and the load to the other"

make_run_dir redis

pick_ports 4
readonly upstream_port="${ports[0]}" sluice_port="${ports[1]}" admin_port="${ports[2]}" redis_port="${ports[3]}"

# The load tool, built for this run.
load_tool="${run_dir}/paced_load"
readonly load_tool
g++ -std=c++20 -O2 -Wall -Wextra -Werror -o "${load_tool}" "${here}/paced_load.cpp"

# The scenarios: keys, paths, the quotas (bench/peers/sluice-<id>.json, the
# same as bench/http's), the refused fraction every target must land in, and
# the targets. local and redis are sluiced with each store; token_bucket and
# fixed_window are the per-request-script baselines (no sluiced: the load
# tool sends each request's script call to Redis itself).
readonly scenario_ids=(many_keys_no_refusals half_refused)
declare -A title=(
    [many_keys_no_refusals]="100k keys, nothing refused"
    [half_refused]="100 keys, /limited 1 r/s per key, half refused"
)
declare -A keys=([many_keys_no_refusals]=100000 [half_refused]=100)
declare -A paths=([many_keys_no_refusals]=one [half_refused]=alternate)
declare -A expected=([many_keys_no_refusals]="0 0.001" [half_refused]="0.45 0.55")
declare -A targets_of=(
    [many_keys_no_refusals]="local redis"
    [half_refused]="local redis token_bucket fixed_window"
)

# sluiced's config for a scenario and a store: the scenario's quotas, an
# admin API (for sluice_redis_* metrics) and, for redis, the store section.
write_sluice_config() {
    local scenario="$1" store="$2" config="$3" state="$4"
    local store_section='null'
    if [[ "${store}" == redis ]]; then
        store_section="$(jq -cn --arg url "redis://127.0.0.1:${redis_port}" --arg key "${run_dir}/fleet.key" \
            '{type: "redis", url: $url, key_secret_file: $key, timeout: "5ms", on_error: "local"}')"
    fi
    mkdir -p "${state}"
    # shellcheck disable=SC2016 # envsubst takes the names literally
    RUN_DIR="${run_dir}" UPSTREAM_PORT="${upstream_port}" PROXY_PORT="${sluice_port}" \
        envsubst '${RUN_DIR} ${UPSTREAM_PORT} ${PROXY_PORT}' <"${peers}/sluice-${scenario}.json" |
        jq --argjson store "${store_section}" --arg admin "127.0.0.1:${admin_port}" \
            --arg token "${run_dir}/admin.token" --arg state "${state}" '
            . + {admin: {listen: $admin, token_file: $token}, state_dir: $state}
            + (if $store == null then {} else {store: $store} end)' >"${config}"
}

# Waits until `port` accepts HTTP, or the process is gone.
wait_http() {
    local pid="$1" port="$2"
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:${port}/" && return 0
        kill -0 "${pid}" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# One JSON object of sluiced's store metrics (counters), or {} without.
sluice_metrics() {
    local token
    token="$(cat "${run_dir}/admin.token" 2>/dev/null || true)"
    [[ -n "${token}" ]] || { echo '{}'; return 0; }
    curl -s -H "X-Sluice-Token: ${token}" "http://127.0.0.1:${admin_port}/metrics" | awk '
        /^sluice_redis_calls_total / { calls = $2 }
        /^sluice_redis_cache_refusals_total / { cache = $2 }
        /^sluice_redis_unanswered_total/ {
            unanswered += $2
            if ($1 ~ /"error"/) error = $2
            if ($1 ~ /"timeout"/) timeout = $2
            if ($1 ~ /"breaker_open"/) breaker = $2
        }
        /^sluice_redis_call_duration_seconds_sum / { sum = $2 }
        /^sluice_redis_call_duration_seconds_count / { count = $2 }
        /^sluice_proxy_requests_total\{result="forwarded"\}/ { forwarded = $2 }
        /^sluice_proxy_requests_total\{result="limited"\}/ { limited = $2 }
        END { printf "{\"calls\":%d,\"cache_refusals\":%d,\"unanswered\":%d,\"error\":%d,\"timeout\":%d,\"breaker_open\":%d,",
                     calls, cache, unanswered, error, timeout, breaker
              printf "\"call_seconds\":%.9f,\"answered_calls\":%d,\"forwarded\":%d,\"limited\":%d}\n",
                     sum, count, forwarded, limited }'
}

# Redis's side, as one JSON object: CPU (user + system, s, from INFO cpu:
# getrusage, microseconds) and read and write system calls (/proc/PID/io).
redis_counters() {
    local info
    info="$(redis INFO cpu | tr -d '\r')"
    jq -cn --argjson user "$(sed -n 's/^used_cpu_user://p' <<<"${info}")" \
        --argjson sys "$(sed -n 's/^used_cpu_sys://p' <<<"${info}")" \
        --argjson reads "$(sed -n 's/^syscr: //p' "/proc/${redis_pid}/io")" \
        --argjson writes "$(sed -n 's/^syscw: //p' "/proc/${redis_pid}/io")" \
        '{cpu_s: ($user + $sys), reads: $reads, writes: $writes}'
}

# The HTTP load through sluiced, for every target: the baselines' sluiced
# (with the local store) serves it too, so that CPU 1 (the load, the
# upstream, Redis) carries the same work whichever target runs.
http_command() {
    local scenario="$1" seconds="$2"
    echo "taskset -c ${load_cpu} ${load_tool} http --port ${sluice_port} --rate ${rate} --seconds ${seconds}" \
        "--connections ${http_connections} --keys ${keys[${scenario}]} --paths ${paths[${scenario}]}"
}

# A baseline's script calls, one per request of the same sequence, sent from
# CPU 0, where the proxy that makes them would run (where a call comes from
# changes what Redis spends on it: sent from Redis's own CPU, the same calls
# cost Redis about 40% less CPU on the 2-vCPU VMs).
driver_command() {
    local target="$1" scenario="$2" seconds="$3" mode
    case "${target}" in
        token_bucket) mode="token-bucket" ;;
        fixed_window) mode="fixed-window" ;;
    esac
    echo "taskset -c ${proxy_cpu} ${load_tool} ${mode} --port ${redis_port} --rate ${rate} --seconds ${seconds}" \
        "--connections ${redis_connections} --keys ${keys[${scenario}]} --paths ${paths[${scenario}]}" \
        "--script ${here}/baseline_${target}.lua"
}

is_baseline() { [[ "$1" == token_bucket || "$1" == fixed_window ]]; }

# The target's load for `seconds`: the HTTP load's JSON line into
# `http_out`, a baseline's driver's into `driver_out` (run at the same time).
run_loads() {
    local target="$1" scenario="$2" seconds="$3" http_out="$4" driver_out="$5" status=0 driver_pid=""
    local -a words
    : >"${driver_out}"
    if is_baseline "${target}"; then
        read -ra words <<<"$(driver_command "${target}" "${scenario}" "${seconds}")"
        start_background "${driver_out}" "${words[@]}"
        driver_pid="${last_pid}"
    fi
    run_line "$(http_command "${scenario}" "${seconds}")" >"${http_out}" 2>&1 || status=1
    if [[ -n "${driver_pid}" ]]; then
        wait "${driver_pid}" || status=1
        stop_pid "${driver_pid}"  # forgets it (it has ended)
    fi
    return "${status}"
}

status_of() {
    curl -s -o /dev/null -w '%{http_code}' -H "X-Api-Key: $2" "http://127.0.0.1:${sluice_port}$1"
}

# Empty when sluiced answers as the scenario says (a key outside the load's
# key set), and with Redis, asked Redis; else why not.
sanity_problem() {
    local scenario="$1" store="$2" got calls
    if [[ "${scenario}" == half_refused ]]; then
        got="$(status_of /limited/item sanity-check) $(status_of /limited/item sanity-check) $(status_of /open/item sanity-check)"
        [[ "${got}" == "200 429 200" ]] || { echo "sanity: /limited twice, /open gave ${got}, expected 200 429 200"; return 0; }
    else
        got="$(status_of /item sanity-check)"
        [[ "${got}" == 200 ]] || { echo "sanity: /item gave ${got}, expected 200"; return 0; }
    fi
    if [[ "${store}" == redis ]]; then
        calls="$(sluice_metrics | jq '.calls // 0')"
        ((calls > 0)) || echo "sanity: sluiced made no Redis call (sluice_redis_calls_total ${calls})"
    fi
}

# One measurement: Redis emptied, sluiced started (with the Redis store
# for redis, else the local one), checked, warmed up; counters read, the
# timed load, counters read again. Appends one JSON object (the round's raw
# figures) to `raw`.
measure() {
    local target="$1" scenario="$2" round="$3" raw="$4"
    local problem="" line='{}' http_line='{}' sluice_pid config state store=local cpu_before proxy_cpu_s=null
    local redis_before='{}' redis_after='{}' metrics_before='{}' metrics_after='{}' stats='{}' connections=null lo hi
    local http_out="${run_dir}/http.out" driver_out="${run_dir}/driver.out"
    redis FLUSHALL >/dev/null
    [[ "${target}" != redis ]] || store=redis
    config="${run_dir}/sluice-${scenario}-${store}.json"
    state="${run_dir}/state-${scenario}-${target}-${round}"
    write_sluice_config "${scenario}" "${store}" "${config}" "${state}"
    start_background "${run_dir}/sluiced-${target}.log" taskset -c "${proxy_cpu}" "${sluiced}" --config "${config}"
    sluice_pid="${last_pid}"
    if ! wait_http "${sluice_pid}" "${sluice_port}"; then
        problem="sluiced did not start: $(tail -1 "${run_dir}/sluiced-${target}.log")"
    else
        problem="$(sanity_problem "${scenario}" "${store}")"
    fi
    if [[ -z "${problem}" ]]; then
        run_loads "${target}" "${scenario}" "${warmup_s}" "${http_out}" "${driver_out}" ||
            problem="the warm-up load failed: $(tail -1 "${http_out}") $(tail -1 "${driver_out}")"
    fi
    if [[ -z "${problem}" ]]; then
        redis CONFIG RESETSTAT >/dev/null
        redis_before="$(redis_counters)"
        cpu_before="$(cpu_ticks "${sluice_pid}")"
        metrics_before="$(sluice_metrics)"
        run_loads "${target}" "${scenario}" "${duration_s}" "${http_out}" "${driver_out}" || true
        redis_after="$(redis_counters)"
        stats="$(redis_commandstats)"
        proxy_cpu_s="$(jq -n "($(cpu_ticks "${sluice_pid}") - ${cpu_before}) / ${ticks_per_s}")"
        metrics_after="$(sluice_metrics)"
        # The connections that carried the script calls: sluiced's (still
        # open), or the driver's own count.
        if [[ "${target}" == redis ]]; then
            connections="$(redis CLIENT LIST | grep -c ' cmd=evalsha ' || true)"
        fi
        http_line="$(tail -1 "${http_out}")"
        if is_baseline "${target}"; then line="$(tail -1 "${driver_out}")"; else line="${http_line}"; fi
    fi
    stop_pid "${sluice_pid}"
    [[ "${line}" == '{'* ]] || line='{}'
    [[ "${http_line}" == '{'* ]] || http_line='{}'
    read -r lo hi <<<"${expected[${scenario}]}"
    jq -c -n --arg target "${target}" --arg scenario "${scenario}" --argjson round "${round}" \
        --argjson lo "${lo}" --argjson hi "${hi}" --arg problem "${problem}" --argjson load "${line}" \
        --argjson proxy_cpu_s "${proxy_cpu_s}" --argjson rb "${redis_before}" --argjson ra "${redis_after}" \
        --argjson stats "${stats}" --argjson mb "${metrics_before}" --argjson ma "${metrics_after}" \
        --argjson http "${http_line}" --argjson connections "${connections}" '
        def per(x; n): if n != null and n > 0 and x != null then x / n else null end;
        ($load.requests // 0) as $n
        | (per($load.refused; $n)) as $refused
        | ([$stats | to_entries[] | select(.key == "eval" or .key == "evalsha") | .value.calls] | add // 0) as $script_calls
        | ([$stats | to_entries[] | .value.calls] | add // 0) as $all_calls
        | ([$stats | to_entries[] | select(.key == "eval" or .key == "evalsha") | .value.usec] | add // 0) as $script_usec
        | (if $target != "redis" or $ma.calls == null then null else
             {calls: ($ma.calls - $mb.calls), cache_refusals: ($ma.cache_refusals - $mb.cache_refusals),
              unanswered: ($ma.unanswered - $mb.unanswered),
              unanswered_by: {error: ($ma.error - $mb.error), timeout: ($ma.timeout - $mb.timeout),
                              breaker_open: ($ma.breaker_open - $mb.breaker_open)},
              call_mean_ms: per(($ma.call_seconds - $mb.call_seconds) * 1e3; ($ma.answered_calls - $mb.answered_calls))}
           end) as $sluice
        | (if $target == "local" or $ra.cpu_s == null then null else
             {cpu_s: ($ra.cpu_s - $rb.cpu_s), cpu_us_per_request: per(($ra.cpu_s - $rb.cpu_s) * 1e6; $n),
              script_calls: $script_calls, script_calls_per_request: per($script_calls; $n),
              commands: $all_calls, commands_per_request: per($all_calls; $n),
              script_usec_per_request: per($script_usec; $n),
              reads_per_request: per($ra.reads - $rb.reads; $n), writes_per_request: per($ra.writes - $rb.writes; $n),
              connections: ($connections // $load.connections), commandstats: $stats}
             + (if $sluice == null then {} else
                  # Refused requests that asked Redis: those not refused from the cache.
                  (($load.refused - $sluice.cache_refusals)) as $refused_asked
                  | {script_calls_per_admitted: per($script_calls - $refused_asked; $load.admitted),
                     script_calls_per_refused: per($refused_asked; $load.refused)} end)
           end) as $redis
        | (if $problem != "" then $problem
           elif $load.requests == null then "the load tool printed no figures"
           elif ($load.errors + $load.unanswered + $load.other_status) > 0 then
             "errors \($load.errors), unanswered \($load.unanswered), other statuses \($load.other_status) (\($load.first_error))"
           elif $http.requests == null then "the HTTP load printed no figures"
           elif ($http.errors + $http.unanswered + $http.other_status) > 0 then
             "HTTP load: errors \($http.errors), unanswered \($http.unanswered), other statuses \($http.other_status)"
           elif $refused < $lo or $refused > $hi then
             "refused fraction \($refused * 1000 | round / 1000) outside [\($lo), \($hi)]"
           elif $sluice != null and $sluice.unanswered > 0 then
             "\($sluice.unanswered) requests Redis did not answer (\($sluice.unanswered_by | to_entries | map("\(.key) \(.value)") | join(", "))), answered by on_error local"
           elif $sluice != null and $sluice.calls != $script_calls then
             "sluiced counted \($sluice.calls) Redis calls, Redis \($script_calls) script calls"
           else "" end) as $why
        | {target: $target, scenario: $scenario, round: $round,
           requests: $load.requests, requests_per_s: $load.requests_per_s,
           p50_ms: $load.p50_ms, p90_ms: $load.p90_ms, p99_ms: $load.p99_ms, p999_ms: $load.p999_ms,
           max_ms: $load.max_ms, admitted: $load.admitted, refused: $load.refused, refused_fraction: $refused,
           late_sends: $load.late_sends, max_send_lag_ms: $load.max_send_lag_ms,
           proxy_cpu_s: $proxy_cpu_s, proxy_cpu_us_per_request: (if $proxy_cpu_s == null then null else per($proxy_cpu_s * 1e6; $n) end),
           redis: $redis, sluice_redis: $sluice}
        + (if $target == "token_bucket" or $target == "fixed_window" then
             # The latency figures above are the driver'"'"'s calls to Redis; the HTTP
             # load sluiced (local store) served beside them:
             {http: {requests: $http.requests, p50_ms: $http.p50_ms, p99_ms: $http.p99_ms}}
           else {} end)
        + {valid: ($why == "")}
        + (if $why == "" then {} else {why: $why} end)' >>"${raw}"
    tail -1 "${raw}" | jq -c '{target, scenario, round, p50_ms, p99_ms, refused_fraction,
        redis_cpu_us: .redis.cpu_us_per_request, calls: .redis.script_calls_per_request, valid, why}' >&2
}

loadavg_start="$(cut -d' ' -f1-3 /proc/loadavg)"

upstream_conf="${run_dir}/upstream-nginx.conf"
# shellcheck disable=SC2016 # envsubst takes the names literally
RUN_DIR="${run_dir}" UPSTREAM_PORT="${upstream_port}" envsubst '${RUN_DIR} ${UPSTREAM_PORT}' \
    <"${peers}/upstream-nginx.conf" >"${upstream_conf}"
start_background "${run_dir}/upstream.log" taskset -c "${load_cpu}" \
    nginx -p "${run_dir}" -e "${run_dir}/upstream-nginx.error.log" -c "${upstream_conf}"
upstream_pid="${last_pid}"
wait_http "${upstream_pid}" "${upstream_port}" || { echo "$0: the upstream did not start" >&2; exit 1; }

start_redis taskset -c "${load_cpu}"

raw="${run_dir}/rounds.jsonl"
: >"${raw}"
for ((round = 1; round <= rounds; round++)); do
    for scenario in "${scenario_ids[@]}"; do
        read -ra targets <<<"${targets_of[${scenario}]}"
        round_order_of "${round}" "${targets[@]}"
        for target in "${round_order[@]}"; do
            echo "round ${round}/${rounds}: ${scenario}: ${target}" >&2
            measure "${target}" "${scenario}" "${round}" "${raw}"
        done
    done
done

scenarios_json="$(for s in "${scenario_ids[@]}"; do
    read -r lo hi <<<"${expected[${s}]}"
    jq -cn --arg id "${s}" --arg title "${title[${s}]}" --argjson keys "${keys[${s}]}" --arg paths "${paths[${s}]}" \
        --argjson lo "${lo}" --argjson hi "${hi}" --arg targets "${targets_of[${s}]}" \
        '{id: $id, title: $title, keys: $keys, paths: $paths, expected_refused: [$lo, $hi],
          targets: ($targets | split(" "))}'
done | jq -sc .)"

mkdir -p "$(dirname "${out}")"
jq -s \
    --argjson rate "${rate}" --argjson http_connections "${http_connections}" \
    --argjson redis_connections "${redis_connections}" --argjson duration "${duration_s}" \
    --argjson warmup "${warmup_s}" --argjson rounds "${rounds}" \
    --argjson proxy_cpu "${proxy_cpu}" --argjson load_cpu "${load_cpu}" \
    --arg loadavg_start "${loadavg_start}" --arg loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --arg redis_version "$(redis-server --version)" --arg nginx "$(nginx -v 2>&1 | sed 's/^nginx version: //')" \
    --arg sluiced "$(git -C "${repo}" describe --always --dirty 2>/dev/null || echo unknown)" \
    --argjson scenarios "${scenarios_json}" \
    --arg cmd_http "$(http_command half_refused "${duration_s}" | sed "s|${run_dir}|<run>|g")" \
    --arg cmd_token_bucket "$(driver_command token_bucket half_refused "${duration_s}" | sed "s|${run_dir}|<run>|g")" \
    --arg cmd_fixed_window "$(driver_command fixed_window half_refused "${duration_s}" | sed "s|${run_dir}|<run>|g")" \
    --arg cmd_redis "taskset -c ${load_cpu} redis-server --port <port> --bind 127.0.0.1 --save \"\" --appendonly no" \
    --arg cmd_sluiced "taskset -c ${proxy_cpu} ${sluiced} --config <run>/sluice-<scenario>-<local|redis>.json" \
    "${jq_rounds_defs}"'
    def med(f): [.[] | f | select(. != null)] | median;
    def ratio(a; b): if a == null or b == null or b == 0 then null else a / b end;
    def summary:
        . as $rounds
        | rounds_to_use as $use
        | {requests: ($use | med(.requests)), requests_per_s: ($use | med(.requests_per_s)),
           p50_ms: ($use | med(.p50_ms)), p90_ms: ($use | med(.p90_ms)), p99_ms: ($use | med(.p99_ms)),
           p999_ms: ($use | med(.p999_ms)), refused_fraction: ($use | med(.refused_fraction)),
           late_sends: ($use | med(.late_sends)),
           proxy_cpu_us_per_request: ($use | med(.proxy_cpu_us_per_request))}
        + (if ($use | map(.redis) | all(. == null)) then {} else
             {redis: {cpu_us_per_request: ($use | med(.redis.cpu_us_per_request)),
                      script_calls_per_request: ($use | med(.redis.script_calls_per_request)),
                      commands_per_request: ($use | med(.redis.commands_per_request)),
                      script_usec_per_request: ($use | med(.redis.script_usec_per_request)),
                      reads_per_request: ($use | med(.redis.reads_per_request)),
                      writes_per_request: ($use | med(.redis.writes_per_request)),
                      connections: ($use | med(.redis.connections)),
                      script_calls_per_admitted: ($use | med(.redis.script_calls_per_admitted)),
                      script_calls_per_refused: ($use | med(.redis.script_calls_per_refused))}} end)
        + (if ($use | map(.sluice_redis) | all(. == null)) then {} else
             {sluice_redis_call_mean_ms: ($use | med(.sluice_redis.call_mean_ms))} end)
        + validity;
    . as $all
    | def rounds_of(s; t): [$all[] | select(.scenario == s and .target == t)];
      def result(s; t): rounds_of(s; t) | summary;
      # Per round, redis minus local (the same round): the added latency.
      def added(s; f): [range(1; $rounds + 1) as $r
            | ([$all[] | select(.scenario == s and .round == $r and .target == "redis" and .valid) | f] | first) as $x
            | ([$all[] | select(.scenario == s and .round == $r and .target == "local" and .valid) | f] | first) as $y
            | select($x != null and $y != null) | $x - $y];
      {
        load: {tool: "bench/redis/paced_load.cpp (open loop, latency from when each request was due)",
               rate_per_s: $rate, http_connections: $http_connections, redis_connections: $redis_connections,
               duration_s: $duration, warmup_s: $warmup, rounds: $rounds},
        pinning: {sluiced: [$proxy_cpu], redis_upstream_and_load: [$load_cpu]},
        loadavg: {start: $loadavg_start, end: $loadavg_end},
        versions: {redis: $redis_version, nginx: $nginx, sluiced: $sluiced},
        commands: {sluiced: $cmd_sluiced, redis: $cmd_redis, load_http: $cmd_http,
                   load_token_bucket: $cmd_token_bucket, load_fixed_window: $cmd_fixed_window},
        scenarios: $scenarios,
        latency: [$scenarios[] | .id as $s
            | (result($s; "local")) as $local | (result($s; "redis")) as $redis
            | {scenario: $s, local: $local, redis: $redis,
               added_p50_ms: (added($s; .p50_ms) | median), added_p99_ms: (added($s; .p99_ms) | median),
               added_p99_ms_rounds: added($s; .p99_ms),
               proxy_cpu_redis_over_local: ratio($redis.proxy_cpu_us_per_request; $local.proxy_cpu_us_per_request),
               goal_p99_added_ms: 1,
               goal_met: ((added($s; .p99_ms) | median) as $a | if $a == null then null else $a <= 1 end)}],
        calls: (result("half_refused"; "redis") as $r | result("many_keys_no_refusals"; "redis") as $m
            | {half_refused: {requests: $r.requests, refused_fraction: $r.refused_fraction,
                              script_calls_per_request: $r.redis.script_calls_per_request,
                              script_calls_per_admitted: $r.redis.script_calls_per_admitted,
                              script_calls_per_refused: $r.redis.script_calls_per_refused,
                              commands_per_request: $r.redis.commands_per_request},
               many_keys_no_refusals: {requests: $m.requests,
                              script_calls_per_request: $m.redis.script_calls_per_request,
                              commands_per_request: $m.redis.commands_per_request}}),
        baseline: (result("half_refused"; "redis") as $s
            | result("half_refused"; "token_bucket") as $t | result("half_refused"; "fixed_window") as $f
            | {scenario: "half_refused",
               sluice: $s.redis, token_bucket: $t.redis, fixed_window: $f.redis,
               refused_fraction: {sluice: $s.refused_fraction, token_bucket: $t.refused_fraction,
                                  fixed_window: $f.refused_fraction},
               sluice_over_token_bucket: {
                   redis_cpu_per_request: ratio($s.redis.cpu_us_per_request; $t.redis.cpu_us_per_request),
                   round_trips_per_request: ratio($s.redis.script_calls_per_request; $t.redis.script_calls_per_request),
                   redis_reads_per_request: ratio($s.redis.reads_per_request; $t.redis.reads_per_request)},
               sluice_over_fixed_window: {
                   redis_cpu_per_request: ratio($s.redis.cpu_us_per_request; $f.redis.cpu_us_per_request),
                   round_trips_per_request: ratio($s.redis.script_calls_per_request; $f.redis.script_calls_per_request),
                   redis_reads_per_request: ratio($s.redis.reads_per_request; $f.redis.reads_per_request)}}),
        valid: ([$all[] | .valid] | all),
        rounds: [$all[] | del(.redis.commandstats?)],
        commandstats: [$all[] | select(.redis != null) | {scenario, target, round, commandstats: .redis.commandstats}]
      }' "${raw}" >"${out}"

# The short table.
jq -r '
    def f(x; d): if x == null then "-" else (x * pow(10; d) | round / pow(10; d) | tostring) end;
    def pad(n): tostring | . + " " * (n - length);
    def late(r): if r.requests == null or r.requests == 0 then "-" else f(100 * r.late_sends / r.requests; 1) + "%" end;
    "Redis store, \(.load.rate_per_s) requests/s: medians of \(.load.rounds) round(s) of \(.load.duration_s) s" +
        (if .valid then "" else " (some rounds invalid: below)" end),
    "",
    "added latency            local p50/p99 ms   redis p50/p99 ms   added p50/p99 ms   p99 goal <= 1 ms   sluiced CPU redis/local   sent late",
    (.latency[] | "\(.scenario | pad(24)) \("\(f(.local.p50_ms; 3)) / \(f(.local.p99_ms; 3))" | pad(18)) \("\(f(.redis.p50_ms; 3)) / \(f(.redis.p99_ms; 3))" | pad(18)) \("\(f(.added_p50_ms; 3)) / \(f(.added_p99_ms; 3))" | pad(18)) \(if .goal_met == null then "-" elif .goal_met then "met" else "not met" end | pad(18)) \(f(.proxy_cpu_redis_over_local; 2) | pad(25)) \(late(.local)) / \(late(.redis))"),
    "",
    "Redis script calls, sluiced with the Redis store: \(f(.calls.many_keys_no_refusals.script_calls_per_request; 3)) per request with nothing refused;",
    "  half refused (\(f(.calls.half_refused.refused_fraction; 3))): \(f(.calls.half_refused.script_calls_per_request; 3)) per request, \(f(.calls.half_refused.script_calls_per_admitted; 3)) per admitted, \(f(.calls.half_refused.script_calls_per_refused; 3)) per refused",
    "",
    "half refused, per request   script calls (round trips)   Redis commands   Redis CPU us   Redis reads   refused",
    (.baseline as $b | ("sluice", "token_bucket", "fixed_window") as $t
        | "\($t | pad(27)) \(f($b[$t].script_calls_per_request; 3) | pad(28)) \(f($b[$t].commands_per_request; 3) | pad(16)) \(f($b[$t].cpu_us_per_request; 2) | pad(14)) \(f($b[$t].reads_per_request; 3) | pad(13)) \(f($b.refused_fraction[$t]; 3))"),
    "Sluice / token bucket (Traefik): Redis CPU \(f(.baseline.sluice_over_token_bucket.redis_cpu_per_request; 3)), round trips \(f(.baseline.sluice_over_token_bucket.round_trips_per_request; 3))",
    "Sluice / fixed window (Kong):    Redis CPU \(f(.baseline.sluice_over_fixed_window.redis_cpu_per_request; 3)), round trips \(f(.baseline.sluice_over_fixed_window.round_trips_per_request; 3))",
    (if .valid then empty else "invalid rounds: " + ([.rounds[] | select(.valid | not) | "\(.scenario) \(.target) round \(.round): \(.why)"] | join("; ")) end)
' "${out}"
echo "wrote ${out}" >&2
