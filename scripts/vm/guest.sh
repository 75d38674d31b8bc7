#!/bin/bash
# Second stage, PID 1 on the host's root inside the VM: the rest of the mounts, then the command the
# host wrote to /run/svcnet-vm/cmd; its output and exit status go back through that directory.
out=/run/svcnet-vm
# /tmp stays the overlay (the host's files, as tsx's compile cache, visible; writes kept in the VM)
# unless the root is read-only.
touch /tmp/.svcnet-vm 2>/dev/null && rm -f /tmp/.svcnet-vm || mount -t tmpfs -o mode=1777 tmp /tmp
for d in /var/tmp /root /var/lib /var/log /var/cache; do
  # Writable already when the root is an overlay; tmpfs otherwise.
  touch "$d/.svcnet-vm" 2>/dev/null && rm -f "$d/.svcnet-vm" || mount -t tmpfs -o mode=755 tmp "$d"
done
mkdir -p /dev/pts /dev/shm /run/netns /sys/fs/cgroup
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
ip link set lo up
hostname svcnet-vm
finish() {
  echo "$1" >"$out/rc.tmp" && mv "$out/rc.tmp" "$out/rc"
  sync
  exec /bin/busybox poweroff -f
}
[ -n "$SVCNET_VM_DEBUG" ] && cat /proc/mounts >/dev/console
bash "$out/cmd" >"$out/stdout" 2>"$out/stderr" </dev/null
finish $?
