#!/usr/bin/env bash
# What `cmake --install` and the Debian package put in place: the programs,
# the unit with the right paths, the example /etc/sluice, and an existing
# config left alone. Run by ctest with the build folder.
set -euo pipefail
build=${1:?usage: install_test.sh BUILD_DIR}
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
check() {  # DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}

# A plain install under /usr/local, into a staging folder.
root=$work/root
DESTDIR=$root cmake --install "$build" --prefix /usr/local > "$work/install1.log"
for f in usr/local/bin/sluiced usr/local/bin/sluicectl usr/local/lib/systemd/system/sluice.service \
         usr/local/share/doc/sluice/README.md; do
  check "installs /$f" test -f "$root/$f"
done
check "the example config is configs/sluice.json" cmp -s "$root/etc/sluice/sluice.json" "$source_dir/configs/sluice.json"
check "the example quota file is there" cmp -s "$root/etc/sluice/quotas.d/health.json" "$source_dir/configs/quotas.d/health.json"
unit=$root/usr/local/lib/systemd/system/sluice.service
check "the unit starts /usr/local/bin/sluiced" grep -qx 'ExecStart=/usr/local/bin/sluiced --config /etc/sluice/sluice.json' "$unit"
check "the unit's stop hook runs /usr/local/bin/sluiced" grep -q 'exec /usr/local/bin/sluiced --config /etc/sluice/sluice.json --service-stopped' "$unit"
check "no /usr/bin left in the unit" bash -c "! grep -q '/usr/bin/' '$unit'"

# An operator's config survives a second install.
echo '{"edited": true}' > "$root/etc/sluice/sluice.json"
DESTDIR=$root cmake --install "$build" --prefix /usr/local > "$work/install2.log"
check "an edited config is kept" grep -qx '{"edited": true}' "$root/etc/sluice/sluice.json"
check "the install says it kept it" grep -q "Kept (already there): $root/etc/sluice/sluice.json" "$work/install2.log"

# The Debian package: /usr prefix, conffiles, maintainer scripts.
if command -v dpkg-deb > /dev/null && command -v dpkg-shlibdeps > /dev/null; then
  (cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/package" > "$work/cpack.log")
  deb=$(ls "$work"/package/sluice_*.deb)
  dpkg-deb -c "$deb" | awk '{print $6}' > "$work/contents"
  for f in ./usr/bin/sluiced ./usr/bin/sluicectl ./usr/lib/systemd/system/sluice.service \
           ./etc/sluice/sluice.json ./etc/sluice/quotas.d/health.json; do
    check "the package holds $f" grep -qx "$f" "$work/contents"
  done
  dpkg-deb -e "$deb" "$work/control"
  check "the package's conffiles are the example configs" \
    diff <(printf '/etc/sluice/sluice.json\n/etc/sluice/quotas.d/health.json\n') "$work/control/conffiles"
  dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/system/sluice.service > "$work/package.service"
  check "the package's unit is configs/sluice.service" cmp -s "$work/package.service" "$source_dir/configs/sluice.service"
  check "the package depends on libbpf" grep -q '^Depends:.*libbpf1' <(dpkg-deb -f "$deb")
else
  echo "skipped: the Debian package checks need dpkg-deb and dpkg-shlibdeps (dpkg-dev)"
fi

[ "$failures" -eq 0 ]
