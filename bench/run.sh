#!/usr/bin/env bash
# `make bench`: runs every benchmark part in one go on this machine, so each
# figure has its peer or floor from the same run, then writes
# bench/results/latest.json, bench/RESULTS.md and the plots (bench/report.py).
#
#   bench/run.sh --build DIR [--quick] [--only PART[,PART...]]
#
# Parts: http (Sluice vs nginx vs HAProxy), limiter (engine), xdp (BPF_PROG_RUN),
# flood (veth flood vs nftables), attack (HTTP flood under attack vs nginx and
# HAProxy). A part that cannot run here (no root for
# BPF) is reported as skipped with its reason; a part that fails stops the run.
# --quick shortens every part for a smoke run and writes its report under
# DIR/bench-quick/ instead: its figures are not for RESULTS.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=
quick=
only=http,limiter,xdp,flood,attack
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --quick) quick=--quick; shift ;;
    --only) only=$2; shift 2 ;;
    *) echo "bench: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$build" ] || { echo "usage: bench/run.sh --build DIR [--quick] [--only PART,...]" >&2; exit 2; }

parts=$(mktemp -d /tmp/sluice-bench.XXXXXX)
trap 'rm -rf "$parts"' EXIT

# One part: its runner writes parts/NAME.json, or exits 77 saying why it cannot
# run here (kept as parts/NAME.skipped).
run_part() {
  local name=$1; shift
  case ",$only," in *",$name,"*) ;; *) echo "bench: $name not selected" >"$parts/$name.skipped"; return ;; esac
  echo "== bench: $name" >&2
  local status=0
  "$@" 2>&1 | tee "$parts/$name.log" >&2 || status=${PIPESTATUS[0]}
  if [ "$status" -eq 77 ]; then
    tail -n 1 "$parts/$name.log" >"$parts/$name.skipped"
  elif [ "$status" -ne 0 ]; then
    echo "bench: $name failed (exit $status)" >&2
    exit 1
  fi
}

limiter_args=(--benchmark_out="$parts/limiter.json" --benchmark_out_format=json --benchmark_counters_tabular=true)
[ -n "$quick" ] && limiter_args+=(--benchmark_min_time=0.05)

# Machine facts first: a loaded machine makes every figure suspect.
python3 - "$parts/run.json" "$here" <<'EOF'
import json, os, platform, subprocess, sys, datetime
def first(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
cpu = first("lscpu | sed -n 's/^Model name: *//p'")
memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
run = {
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "commit": first(f"git -C '{sys.argv[2]}' describe --always --dirty 2>/dev/null") or "unknown",
    "machine": {
        "CPU": f"{cpu}, {os.cpu_count()} CPUs",
        "memory": f"{memory_gib:.0f} GiB",
        "kernel": platform.release(),
        "OS": first(". /etc/os-release && echo $PRETTY_NAME"),
        "virtualisation": first("systemd-detect-virt 2>/dev/null") or "unknown",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    },
}
json.dump(run, open(sys.argv[1], "w"), indent=2)
EOF

run_part http "$here/http/run.sh" --build "$build" --out "$parts/http.json" $quick
run_part limiter "$build/bench/limiter_bench" "${limiter_args[@]}"
run_part xdp "$build/bench/xdp_bench" --json "$parts/xdp.json" ${quick:+--reps 1 --repeat 100000}
run_part flood "$here/flood/run.sh" --build "$build" --out "$parts/flood.json" $quick
run_part attack "$here/attack/run.sh" --build "$build" --out "$parts/attack.json" $quick

report=$here
[ -n "$quick" ] && report=$build/bench-quick && mkdir -p "$report"
python3 "$here/report.py" --parts "$parts" --results "$report/results" --markdown "$report/RESULTS.md" \
  --findings "$here/findings.md"
echo "bench: wrote $report/RESULTS.md, $report/results/latest.json and $report/results/*.png" >&2
