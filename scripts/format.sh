#!/usr/bin/env bash
# Formats the project's C++ by .clang-format (clang-format 14), in place; with
# --check, changes nothing and fails listing the files that are not formatted
# (ctest format.Check). The BPF C under bpf/ keeps the kernel's style.
#
#   scripts/format.sh [--check] [SOURCE_DIR]
set -euo pipefail
check=
[[ "${1:-}" == --check ]] && { check=1; shift; }
cd "${1:-$(dirname "$0")/..}"
command -v clang-format-14 >/dev/null || { echo "format: clang-format-14 is missing (scripts/install-deps.sh)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.h' | grep -v -e '^bpf/' -e '^bench/bpf/')
if [[ -z "${check}" ]]; then
    clang-format-14 -i "${files[@]}"
    exit 0
fi
unformatted=0
for file in "${files[@]}"; do
    if ! clang-format-14 --dry-run -Werror "${file}" 2>/dev/null; then
        echo "format: ${file} is not formatted (scripts/format.sh formats it)"
        unformatted=$((unformatted + 1))
    fi
done
((unformatted == 0)) || exit 1
echo "format: ${#files[@]} files formatted as .clang-format says"
