#!/usr/bin/env bash
# `make test-asan` and `make test-tsan`: builds the tests with sanitizers in
# build-asan/ or build-tsan/ and runs them; any report fails the run.
#
#   asan     ASan + UBSan: the unit, integration and BPF tests and the
#            fuzz targets' replays (and every sluiced they start).
#   tsan     TSan: the unit and integration tests; those that matter are
#            the ones that run the limiter, the store, the block list and the
#            proxy on several threads (the unit tests' concurrency cases and
#            sluiced itself, which runs one event loop per CPU).
#
# The sanitizers write their reports to files (log_path) rather than to
# stderr: sluiced runs as a child of the integration tests, which read its
# stderr for their own checks and would not fail on a report printed there.
# A report from any process, test or child, is a file in the reports folder,
# and a run that leaves one fails here, whatever the tests said.
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:?usage: sanitized-test.sh asan|tsan}
jobs=${JOBS:-$(nproc)}
build=build-$kind

case $kind in
  asan) sanitize=address tests='^(unit|integration|bpf|fuzz)\.' ;;
  tsan) sanitize=thread tests='^(unit|integration)\.' ;;
  *) echo "sanitized-test.sh: unknown kind '$kind' (asan or tsan)" >&2; exit 2 ;;
esac

# CMAKE_FLAGS (from `make test-asan CMAKE_FLAGS=...`): extra cmake options for
# a new build folder; CI passes -DSLUICE_WERROR=ON.
read -r -a extra_flags <<<"${CMAKE_FLAGS:-}"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
[ -f "$build/CMakeCache.txt" ] ||
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_SANITIZE=$sanitize "${launcher[@]}" "${extra_flags[@]}"
cmake --build "$build" -j "$jobs" --target unit_tests integration_tests bpf_tests sluiced demo_upstream sluicectl fuzz_targets

reports=$PWD/$build/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="log_path=$reports/tsan:second_deadlock_stack=1"

status=0
ctest --test-dir "$build" --output-on-failure -j "$jobs" -R "$tests" || status=$?

if compgen -G "$reports/*" >/dev/null; then
  echo "sanitized-test.sh: $kind sanitizer reports:" >&2
  for report in "$reports"/*; do
    echo "--- $report" >&2
    cat "$report" >&2
  done
  exit 1
fi
[ $status -eq 0 ] || exit $status
echo "sanitized-test.sh: $kind: no sanitizer report"
