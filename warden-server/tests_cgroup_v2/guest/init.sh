#!/bin/bash
# PID 1 of the cgroup v2 guest (baked into the image): the basic mounts, the
# pure cgroup v2 hierarchy, then the per-run session script from the run
# share. Whatever happens, the guest powers off at the end.
poweroff() {
  sync
  echo o >/proc/sysrq-trigger
  # Power-off is asynchronous and PID 1 must not exit meanwhile (a panic);
  # spin in the shell itself: the disk may already be gone for a new program.
  while :; do :; done
}
trap poweroff EXIT
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# What udev and systemd would otherwise provide: /dev/fd (bash's process
# substitution needs it) and a shared root mount, as on a systemd host.
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mount --make-rshared /
echo 1 >/proc/sys/kernel/sysrq
modprobe 9p && modprobe 9pnet_virtio || echo "guest: cannot load the 9p modules"
mkdir -p /run/warden-guest
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 run0 /run/warden-guest; then
  echo "guest: cannot mount the run share"
  exit 1
fi
/bin/bash /run/warden-guest/session.sh
