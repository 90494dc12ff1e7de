#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 14, SLUICE_FUZZ=ON) and runs each
# fuzz/*_fuzz.cpp target for FUZZ_SECONDS, then prints a table of targets,
# seconds, executions, exec/s and crashes. Exits non-zero when any target
# crashed; a target that exits 77 (needs root) is reported as skipped.
#
#   fuzz/run.sh [--build DIR] [TARGET...]     (FUZZ_SECONDS=20 by default)
#
# Each target starts from a scratch copy of its seeds (fuzz/corpus/<target>/,
# never written to) and saves what crashes in
# <build>/fuzz-artifacts/<target>/: fuzz/README.md says how such an input
# becomes a regression.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-fuzz"
seconds=${FUZZ_SECONDS:-20}
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$(realpath -m "$2"); shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done

# Shared machine: build politely, and reuse what ccache already compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$root")}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
if [ ! -f "$build/CMakeCache.txt" ]; then
  nice -n 5 cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 \
    -DSLUICE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" || exit 1
fi
nice -n 5 cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target fuzz_targets || exit 1

if [ ${#targets[@]} -eq 0 ]; then
  for source in "$root"/fuzz/*_fuzz.cpp; do targets+=("$(basename "$source" .cpp)"); done
fi

# Which dictionary and input size suit a target: the JSON and state-file
# targets get json.dict, the HTTP and address ones http.dict, the frames of
# xdp_verdict_fuzz (binary, decoded field by field) none.
dict_of() {
  case "$1" in
    xdp_verdict_fuzz) ;;
    config_fuzz|admin_api_fuzz|state_file_fuzz|duration_fuzz|counter_snapshot_fuzz) echo "$root/fuzz/dict/json.dict" ;;
    *) echo "$root/fuzz/dict/http.dict" ;;
  esac
}
max_len_of() {
  case "$1" in
    cidr_fuzz|duration_fuzz) echo 256 ;;
    path_quota_fuzz|client_identity_fuzz|counter_snapshot_fuzz) echo 1024 ;;
    *) echo 8192 ;;
  esac
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz-run.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
rows=()
failed=0
for target in "${targets[@]}"; do
  binary="$build/fuzz/$target"
  if [ ! -x "$binary" ]; then
    echo "run.sh: no such target: $target" >&2
    failed=1
    continue
  fi
  corpus="$scratch/$target"
  artifacts="$build/fuzz-artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  [ -d "$root/fuzz/corpus/$target" ] && cp -r "$root/fuzz/corpus/$target/." "$corpus/"
  [ -d "$root/fuzz/regressions/$target" ] && cp -r "$root/fuzz/regressions/$target/." "$corpus/"
  log="$artifacts/last-run.log"
  echo "== $target: ${seconds}s (log: $log)"
  dict=$(dict_of "$target")
  dict_args=()
  [ -f "$dict" ] && dict_args=(-dict="$dict")
  started=$(date +%s)
  "$binary" "$corpus" "${dict_args[@]}" -max_total_time="$seconds" -max_len="$(max_len_of "$target")" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
  status=$?
  ran=$(($(date +%s) - started))  # shorter than asked when it crashed
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  executions=${executions:-0}
  rate=$((executions / (ran > 0 ? ran : 1)))
  if [ "$status" -eq 77 ]; then
    result=skipped
  elif [ "$status" -ne 0 ]; then
    result="CRASH ($(ls -t "$artifacts" | grep -v last-run.log | head -1))"
    failed=1
    grep -m1 -E "property violated|ERROR: |runtime error" "$log" | sed 's/^/   /'
  else
    result=0
  fi
  rows+=("$(printf '%-24s %8s %12s %10s  %s' "$target" "$ran" "$executions" "$rate" "$result")")
done

echo
printf '%-24s %8s %12s %10s  %s\n' target seconds executions exec/s crashes
for row in "${rows[@]}"; do echo "$row"; done
exit $failed
