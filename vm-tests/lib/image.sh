# The guest's root filesystem: its recipe and how it is built and cached.
# Sourced by run.sh. Everything that decides the image's content is in this
# file or in the package's Depends, so the hash of both is the cache key: edit
# the recipe and the next run rebuilds; edit only the tests (guest/, passed in
# through 9p at every boot) and it does not.

IMAGE_SUITE=bookworm
# minbase plus what the scenarios use: systemd as init, iproute2 for netns and
# `ip link`, curl for HTTP, busybox for the upstream (httpd), hping3 for floods;
# and sluice's runtime dependencies, listed so that the package's usual Depends
# add nothing (only a new dependency changes the key).
IMAGE_PACKAGES=(
  systemd systemd-sysv udev kmod procps iproute2 curl busybox hping3
  linux-image-amd64 initramfs-tools
  libc6 libstdc++6 libgcc-s1 libbpf1 libelf1 zlib1g libsystemd0 adduser
)
# Only what boot and the harness need in the initrd: a small one unpacks fast
# under TCG. The root disk is virtio-blk, the share virtio-9p, the NICs virtio-net.
IMAGE_INITRD_MODULES=(virtio_pci virtio_blk virtio_net ext4 9p 9pnet_virtio)
# Units that only slow the boot down or write to the console.
IMAGE_MASKED_UNITS=(
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service
  fstrim.timer man-db.timer serial-getty@ttyS0.service getty@tty1.service
  systemd-timesyncd.service
)
IMAGE_SHARE_TAG=vmtest
IMAGE_SHARE_MOUNT=/mnt/vmtest

# The first URI of the host's apt sources that serves Debian's IMAGE_SUITE
# (deb822 .sources or one-line .list files), so the guest uses the same mirror.
host_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$IMAGE_SUITE" '
      /^$/ { if (uri != "" && ok) exit; uri = ""; ok = 0; next }
      $1 == "URIs:"   { uri = $2 }
      $1 == "Suites:" { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
      END { if (uri != "" && ok) print uri }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v suite="$IMAGE_SUITE" '$1 == "deb" && $0 !~ /\[/ && $3 == suite { print $2 }
                                 $1 == "deb" && /\]/ { for (i = 2; i < NF; i++) if ($i ~ /\]$/ && $(i+2) == suite) print $(i+1) }' "$f"
  done
}

# Package names of a .deb's Depends and Pre-Depends (first of each
# alternative, versions dropped): the guest has no network, so the package's
# dependencies must already be in the image for `apt-get install ./x.deb`.
deb_depends() {
  local deb=$1
  { dpkg-deb -f "$deb" Pre-Depends; dpkg-deb -f "$deb" Depends; } |
    tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' |
    grep -v '^$' | sort -u
}

# The package's dependencies that the recipe does not already list.
image_extra_packages() {
  local p
  for p in "$@"; do
    [[ " ${IMAGE_PACKAGES[*]} " == *" $p "* ]] || echo "$p"
  done
}

image_key() {
  { cat "${BASH_SOURCE[0]}"; printf '%s\n' "$@"; } | sha256sum | cut -c1-16
}

# Makes sure VMDIR/image holds base.img, vmlinuz and initrd.img for the recipe
# plus the given extra packages; builds them when the key differs. The
# downloaded .debs stay in VMDIR/debs for the next rebuild.
image_ensure() {
  local cache=$1/image debs=$1/debs; shift
  local key; key=$(image_key "$@")
  if [ -f "$cache/key" ] && [ "$(cat "$cache/key")" = "$key" ] &&
     [ -f "$cache/base.img" ] && [ -f "$cache/vmlinuz" ] && [ -f "$cache/initrd.img" ]; then
    log "image: cached ($cache, key $key)"
    return
  fi
  log "image: building (key $key); debootstrap takes a few minutes"
  local started=$SECONDS
  rm -rf "$cache"
  mkdir -p "$cache" "$debs"
  image_build "$cache" "$debs" "$@"
  echo "$key" > "$cache/key"
  log "image: built in $((SECONDS - started))s, $(du -sh "$cache/base.img" | cut -f1) on disk"
}

image_build() {
  local cache=$1 debs=$2; shift 2
  local root=$cache/rootfs
  local mirror; mirror=$(host_mirror | head -n1)
  [ -n "$mirror" ] || die "no $IMAGE_SUITE mirror in the host's apt sources"
  local include; include=$(IFS=,; echo "${IMAGE_PACKAGES[*]},$*")
  log "image: debootstrap $IMAGE_SUITE from $mirror"
  debootstrap --variant=minbase --cache-dir="$debs" --include="${include%,}" "$IMAGE_SUITE" "$root" "$mirror" \
    > "$cache/debootstrap.log" 2>&1 || { tail -n 30 "$cache/debootstrap.log" >&2; die "debootstrap failed"; }
  image_configure "$root"
  image_initrd "$root" "$cache"
  image_slim "$root"
  image_mkfs "$root" "$cache/base.img"
  rm -rf "$root"
}

image_configure() {
  local root=$1
  echo sluice-vm > "$root/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 sluice-vm\n' > "$root/etc/hosts"
  cat > "$root/etc/fstab" <<EOF
/dev/vda / ext4 rw,relatime 0 1
$IMAGE_SHARE_TAG $IMAGE_SHARE_MOUNT 9p trans=virtio,version=9p2000.L,msize=262144 0 0
EOF
  mkdir -p "$root$IMAGE_SHARE_MOUNT"
  # The journal stays in memory: each run boots a fresh overlay anyway.
  mkdir -p "$root/etc/systemd/journald.conf.d"
  printf '[Journal]\nStorage=volatile\n' > "$root/etc/systemd/journald.conf.d/vm.conf"
  # The harness entry point; the runner itself comes from the share, so
  # editing the tests never rebuilds the image. It powers off whatever happens.
  cat > "$root/etc/systemd/system/vm-test.service" <<EOF
[Unit]
Description=Sluice VM test runner
After=multi-user.target $(systemd-escape -p --suffix=mount "$IMAGE_SHARE_MOUNT")
Requires=$(systemd-escape -p --suffix=mount "$IMAGE_SHARE_MOUNT")
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/bin/bash $IMAGE_SHARE_MOUNT/guest/runner.sh $IMAGE_SHARE_MOUNT
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
EOF
  chroot "$root" systemctl enable vm-test.service > /dev/null 2>&1
  chroot "$root" systemctl mask "${IMAGE_MASKED_UNITS[@]}" > /dev/null 2>&1
  passwd -R "$root" -d root > /dev/null
}

# Rebuilds the initrd with only the listed modules and copies the kernel out.
image_initrd() {
  local root=$1 cache=$2
  printf 'MODULES=list\nCOMPRESS=zstd\n' > "$root/etc/initramfs-tools/conf.d/vm"
  printf '%s\n' "${IMAGE_INITRD_MODULES[@]}" > "$root/etc/initramfs-tools/modules"
  local kver; kver=$(basename "$(ls -d "$root"/lib/modules/*)")
  chroot "$root" update-initramfs -u -k "$kver" > "$cache/initramfs.log" 2>&1 ||
    { cat "$cache/initramfs.log" >&2; die "update-initramfs failed"; }
  cp "$root/boot/vmlinuz-$kver" "$cache/vmlinuz"
  cp "$root/boot/initrd.img-$kver" "$cache/initrd.img"
}

# Drops what a test VM never reads: docs, man pages, locales, apt's caches,
# the kernel and initrd (booted from outside), modules of absent hardware.
image_slim() {
  local root=$1
  rm -rf "${root:?}"/usr/share/{doc,man,info,locale}/* "$root"/var/cache/apt/* \
    "$root"/var/lib/apt/lists/* "$root"/boot/*
  rm -rf "$root"/lib/modules/*/kernel/drivers/{gpu,media,infiniband,staging,net/wireless,bluetooth,scsi,usb,input}
  rm -rf "$root"/lib/modules/*/kernel/sound "$root"/lib/firmware/*
}

# ext4 straight from the folder (mkfs.ext4 -d): no loop mount, no root-only
# mount step. Sized with headroom for the package, journals and test files.
image_mkfs() {
  local root=$1 img=$2
  local used_mb; used_mb=$(du -sm "$root" | cut -f1)
  local size_mb=$((used_mb + used_mb / 2 + 256))
  truncate -s "${size_mb}M" "$img"
  mkfs.ext4 -q -F -L sluice-vm -d "$root" "$img"
}
