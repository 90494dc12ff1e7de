#!/usr/bin/env bash
# Holds the source folders to the dependency rule (README, Layout): a folder
# includes only itself and the folders below it, the same order the CMake
# libraries link in; limit/ does no I/O. Run by ctest as layout.IncludeDirection.
#
#   scripts/check-layout.sh [SOURCE_DIR]
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

# What each folder may include (besides itself): what its library links,
# directly or through a library it links.
declare -A below=(
    [common]=""
    [http]="common"
    [limit]="common"
    [store]="limit common"
    [proxy]="limit http common"
    [xdp]="limit common bpf"
    [config]="proxy xdp limit http common bpf"
    [state]="config store proxy xdp limit http common bpf"
    [control]="state config store proxy xdp limit http common bpf"
    [admin]="control state config store proxy xdp limit http common bpf"
    [metrics]="control state config store proxy xdp limit http common bpf"
    [sluiced]="admin metrics control state config store proxy xdp limit http common bpf"
    [sluicectl]="http common"
)
# limit/ decides; reading sockets, files or the log is for the layers above.
readonly no_io='<boost/asio|<boost/beast|<fstream>|<iostream>|<cstdio>|<sys/|<unistd.h>|"common/log.h"|"common/fd.h"|"common/regular_file.h"'

failures=0
for folder in "${!below[@]}"; do
    [[ -d "${folder}" ]] || { echo "layout: no folder ${folder}/ (update scripts/check-layout.sh with the README)"; failures=$((failures + 1)); continue; }
    allowed=" ${folder} ${below[${folder}]} "
    while IFS=: read -r file line text; do
        target="${text#*\"}"
        target="${target%%/*}"
        if [[ "${allowed}" != *" ${target} "* ]]; then
            echo "layout: ${file}:${line}: ${folder}/ may not include ${target}/ (it may include: ${below[${folder}]:-nothing else})"
            failures=$((failures + 1))
        fi
    done < <(grep -rnE '^#include "[a-z_]+/' "${folder}" --include='*.h' --include='*.cpp' || true)
done
while IFS= read -r hit; do
    echo "layout: ${hit}: limit/ does no I/O"
    failures=$((failures + 1))
done < <(grep -rnE "^#include (${no_io})" limit || true)
for folder in */; do
    folder="${folder%/}"
    if compgen -G "${folder}/*.cpp" >/dev/null && [[ -z "${below[${folder}]+x}" ]] &&
        [[ ! " bench bpf fuzz tests vm-tests packaging build " == *" ${folder} "* ]] && [[ "${folder}" != build* ]]; then
        echo "layout: ${folder}/ holds sources but has no place in the dependency order"
        failures=$((failures + 1))
    fi
done
((failures == 0)) || { echo "layout: ${failures} problem(s)"; exit 1; }
echo "layout: every folder includes only what sits below it"
