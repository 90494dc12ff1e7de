#!/usr/bin/env bash
# Holds the source folders to the dependency rule (README, Layout): a folder
# includes only itself and the folders below it, the same order the CMake
# libraries link in; limit/ does no I/O. Run by ctest as layout.IncludeDirection.
#
#   scripts/check-layout.sh [SOURCE_DIR]
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

# What each folder links, read from the build itself (each sluice_library()
# line of CMakeLists.txt, and sluicectl_lib's link line), so the rule and the
# link graph cannot drift apart.
declare -A links=()
while read -r folder deps; do
    links[${folder}]="${deps}"
done < <(sed -nE 's/^sluice_library\(([a-z_]+)(.*)\)$/\1\2/p' CMakeLists.txt
         sed -nE 's/^target_link_libraries\(sluicectl_lib PUBLIC(.*)\)$/sluicectl\1/p' sluicectl/CMakeLists.txt)

# A folder may include (besides itself) what it links, directly or through
# a library it links: the transitive closure of `links`, sluice_ names only.
declare -A below=()
closure() {
    local dep name result=""
    for dep in ${links[$1]:-}; do
        [[ "${dep}" == sluice_* ]] || continue
        name="${dep#sluice_}"
        result+=" ${name} $(closure "${name}")"
    done
    echo "${result}" | tr ' ' '\n' | sort -u | tr '\n' ' '
}
for folder in "${!links[@]}"; do below[${folder}]="$(closure "${folder}" | xargs)"; done

# limit/ decides; reading sockets, files or the log is for the layers above.
readonly no_io='<boost/asio|<boost/beast|<fstream>|<iostream>|<cstdio>|<sys/|<unistd.h>|"common/log.h"|"common/fd.h"|"common/regular_file.h"'

failures=0
for folder in "${!below[@]}"; do
    [[ -d "${folder}" ]] || { echo "layout: CMakeLists.txt names a library ${folder} but there is no folder ${folder}/"; failures=$((failures + 1)); continue; }
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
