#!/usr/bin/env bash
# Runs one command as root inside a virtual machine that boots Debian's cloud kernel (which has
# IPVS, unlike the kernels this project usually runs on) with the host's filesystem visible at the
# same paths: read-only underneath, writable through a tmpfs overlay, so nothing the command does
# reaches the host. Prints the command's output and exits with its status.
#
#   scripts/vm/run.sh [--timeout SECONDS] [--memory MiB] [--cpus N] -- CMD [ARGS...]
#
# KVM is used when /dev/kvm works and TCG otherwise. The watchdog (default 600 s,
# SVCNET_VM_TIMEOUT) kills a VM that does not finish; that and every boot failure exit non-zero
# with the reason and the end of the VM's console log. SVCNET_VM_KERNEL picks another vmlinuz.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
timeout=${SVCNET_VM_TIMEOUT:-600}
memory=${SVCNET_VM_MEMORY:-3072}
cpus=${SVCNET_VM_CPUS:-$(nproc)}
while [ $# -gt 0 ]; do
  case "$1" in
  --timeout) timeout=$2; shift 2 ;;
  --memory) memory=$2; shift 2 ;;
  --cpus) cpus=$2; shift 2 ;;
  --) shift; break ;;
  *) echo "vm: unknown option $1 (usage: run.sh [--timeout S] [--memory MiB] [--cpus N] -- CMD [ARGS...])" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "vm: no command (usage: run.sh [options] -- CMD [ARGS...])" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "vm: needs root (virtiofsd shares the host's root filesystem)" >&2; exit 2; }

die() { echo "vm: $*" >&2; exit 125; }
qemu=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
virtiofsd=/usr/lib/qemu/virtiofsd
[ -x "$virtiofsd" ] || die "$virtiofsd missing (it comes with qemu-system-common)"
busybox=/bin/busybox
[ -x "$busybox" ] && [[ "$("$busybox" --list 2>/dev/null)" == *switch_root* ]] || die "a static busybox is missing (apt-get install busybox-static)"
kernel=${SVCNET_VM_KERNEL:-$(ls -1 /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)}
[ -n "$kernel" ] && [ -r "$kernel" ] || die "no kernel: apt-get install linux-image-cloud-amd64 (or set SVCNET_VM_KERNEL)"
release=${kernel##*/vmlinuz-}
modules=/lib/modules/$release
[ -d "$modules" ] || die "no modules for $release in $modules"

run=$(mktemp -d /var/tmp/svcnet-vm.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The command, its working directory and environment, as a script the guest runs.
{
  export -p | grep -v -E '^declare -x (BASH_[A-Z_]*|SHLVL|PWD|OLDPWD|_)='
  printf 'cd %q || exit 125\n' "$PWD"
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} >"$run/cmd"

# The initramfs: busybox, the modules that reach the host's root, and the first-stage init.
mkdir -p "$run/initrd/bin" "$run/initrd/modules" "$run/initrd/proc" "$run/initrd/sys" "$run/initrd/dev"
cp "$busybox" "$run/initrd/bin/busybox"
cp "$here/init" "$run/initrd/init"
for m in virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci fuse virtiofs overlay; do
  f=$(find "$modules/kernel" -name "$m.ko" -print -quit)
  [ -n "$f" ] && cp "$f" "$run/initrd/modules/" && echo "$m.ko" >>"$run/initrd/modules.order"
done
(cd "$run/initrd" && find . | cpio -o -H newc --quiet) >"$run/initrd.cpio"

# KVM where it works, TCG otherwise. Some nested setups open /dev/kvm fine and then never get the
# kernel past its decompressor, so a KVM boot that shows no sign of the init within a few seconds
# is abandoned for TCG, and that verdict is remembered until the host reboots.
boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
verdict=/tmp/svcnet-vm-kvm.$boot_id
accel=${SVCNET_VM_ACCEL:-}
if [ -z "$accel" ]; then
  accel=tcg
  if [ -w /dev/kvm ] && [ "$(cat "$verdict" 2>/dev/null)" != broken ] &&
    echo quit | "$qemu" -accel kvm -machine none -nodefaults -display none -monitor stdio >/dev/null 2>&1; then
    accel=kvm
  fi
fi

"$virtiofsd" --socket-path="$run/fs.sock" -o source=/ -o cache=always -o sandbox=chroot \
  -o no_posix_lock -o no_flock -o xattr >"$run/virtiofsd.log" 2>&1 &
pids+=($!)
start_virtiofsd_wait() {
  for _ in $(seq 100); do [ -S "$run/fs.sock" ] && return 0; sleep 0.05; done
  cat "$run/virtiofsd.log" >&2
  die "virtiofsd did not start"
}
start_virtiofsd_wait

qpid=
boot() { # accel
  local cpu=${SVCNET_VM_TCG_CPU:-qemu64}
  [ "$1" = kvm ] && cpu=${SVCNET_VM_CPU:-host,-arch-capabilities}
  : >"$run/console.log"
  timeout --kill-after=5 "$timeout" "$qemu" -accel "$1" -cpu "$cpu" -smp "$cpus" -m "$memory" \
    -machine q35,memory-backend=mem -object "memory-backend-memfd,id=mem,size=${memory}M,share=on" \
    -bios /usr/share/qemu/qboot.rom -nodefaults -no-user-config -display none -no-reboot \
    -chardev socket,id=fs,path="$run/fs.sock" -device vhost-user-fs-pci,chardev=fs,tag=host \
    -serial file:"$run/console.log" -kernel "$kernel" -initrd "$run/initrd.cpio" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 ${SVCNET_VM_DEBUG:+SVCNET_VM_DEBUG=1} rw svcnet.out=$run svcnet.guest=$here/guest.sh" \
    >"$run/qemu.log" 2>&1 &
  qpid=$!
  pids+=($qpid)
}
: >"$run/stdout"
: >"$run/stderr"
start=$(date +%s%N)
boot "$accel"
if [ "$accel" = kvm ] && [ -z "${SVCNET_VM_ACCEL:-}" ]; then
  for _ in $(seq "$((${SVCNET_VM_KVM_BOOT_TIMEOUT:-8} * 10))"); do
    grep -q 'svcnet-vm: init' "$run/console.log" 2>/dev/null && break
    kill -0 "$qpid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q 'svcnet-vm: init' "$run/console.log" 2>/dev/null && kill -0 "$qpid" 2>/dev/null; then
    kill "$qpid" 2>/dev/null || true
    wait "$qpid" 2>/dev/null || true
    echo broken >"$verdict"
    [ -n "${SVCNET_VM_VERBOSE:-}" ] && echo "vm: KVM did not boot the kernel; using TCG" >&2
    accel=tcg
    # virtiofsd serves one VM connection and exits with it: start a fresh one.
    rm -f "$run/fs.sock"
    "$virtiofsd" --socket-path="$run/fs.sock" -o source=/ -o cache=always -o sandbox=chroot \
      -o no_posix_lock -o no_flock -o xattr >"$run/virtiofsd.log" 2>&1 &
    pids+=($!)
    start_virtiofsd_wait
    start=$(date +%s%N)
    boot tcg
  fi
fi
# The command's output as it is written; each tail ends by itself once qemu has exited.
tail -s 0.2 -n +1 -f --pid=$qpid "$run/stdout" &
tails=($!)
tail -s 0.2 -n +1 -f --pid=$qpid "$run/stderr" >&2 &
tails+=($!)
set +e
wait $qpid
qrc=$?
wait "${tails[@]}"
set -e
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
if [ -s "$run/rc" ]; then
  rc=$(cat "$run/rc")
  [ -n "${SVCNET_VM_VERBOSE:-}" ] && echo "vm: $accel, ${elapsed} ms, exit $rc" >&2
  [ -n "${SVCNET_VM_DEBUG:-}" ] && cat "$run/console.log" >&2
  exit "$rc"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
  echo "vm: watchdog: no result after ${timeout}s ($accel)" >&2
else
  echo "vm: the VM stopped without a result (qemu exit $qrc, $accel)" >&2
fi
cat "$run/qemu.log" >&2
echo "vm: console log (last 40 lines):" >&2
tail -n 40 "$run/console.log" >&2
exit 125
