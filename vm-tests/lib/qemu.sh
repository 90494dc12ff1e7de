# Booting the guest under qemu. Sourced by run.sh.

QEMU_MEMORY=1G
QEMU_CPUS=2
# The two NICs, told apart inside the guest by these MACs: the first is where
# sluiced's XDP attaches, the second goes into the `client` namespace.
QEMU_MAC_SERVER=52:54:00:99:00:01
QEMU_MAC_CLIENT=52:54:00:99:00:02
# Not `host`: some nested hosts refuse its MSRs; the default model boots anywhere.
QEMU_KVM_CPU=qemu64

# kvm when /dev/kvm is there and really runs a guest, else TCG. /dev/kvm can be
# present yet useless (nested virtualization without VT-x: qemu starts, the
# guest never runs), so the probe boots the kernel with no root filesystem and
# waits for its panic (about a second under KVM).
qemu_accel() {
  local kernel=$1 console
  if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then echo tcg; return; fi
  console=$(timeout 10 qemu-system-x86_64 -accel kvm -cpu "$QEMU_KVM_CPU" -m 256 \
    -nodefaults -display none -no-reboot -serial stdio -kernel "$kernel" \
    -append "console=ttyS0 panic=-1 root=/dev/nonexistent" 2> /dev/null < /dev/null || true)
  if [[ $console == *"Kernel panic"* ]]; then echo kvm; else echo tcg; fi
}

# The qemu command line, into the array qemu_cmd: the overlay on the cached
# base image, the share at SHARE as 9p, the two virtio NICs joined by a qemu
# hub (what one sends the other receives; no host network at all), the
# console into CONSOLE.
qemu_command() {
  # shellcheck disable=SC2034 # the caller's array
  local cache=$1 overlay=$2 share=$3 console=$4 accel=$5
  local cpu=max accel_opt=tcg,thread=multi
  if [ "$accel" = kvm ]; then cpu=$QEMU_KVM_CPU; accel_opt=kvm; fi
  qemu_cmd=(
    qemu-system-x86_64
    -accel "$accel_opt" -cpu "$cpu" -smp "$QEMU_CPUS" -m "$QEMU_MEMORY"
    -nodefaults -display none -no-reboot -monitor none
    -serial "file:$console"
    -kernel "$cache/vmlinuz" -initrd "$cache/initrd.img"
    -append "root=/dev/vda rw console=ttyS0 net.ifnames=0 panic=-1 quiet systemd.show_status=error"
    -drive "file=$overlay,if=virtio,format=qcow2,cache=unsafe"
    -virtfs "local,path=$share,mount_tag=$IMAGE_SHARE_TAG,security_model=none,id=share"
    -netdev "hubport,id=server,hubid=0" -device "virtio-net-pci,netdev=server,mac=$QEMU_MAC_SERVER"
    -netdev "hubport,id=client,hubid=0" -device "virtio-net-pci,netdev=client,mac=$QEMU_MAC_CLIENT"
  )
}
