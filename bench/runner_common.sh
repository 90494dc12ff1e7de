# Sourced by the part runners (bench/http/run.sh, bench/flood/run.sh): their
# common command line, `--build DIR --out FILE [--quick]`, and the stopping of
# the processes they started (pids kept in their array `started`).
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
