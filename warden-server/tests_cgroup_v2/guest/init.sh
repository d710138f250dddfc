#!/bin/bash
# PID 1 of the cgroup v2 guest (baked into the image): the basic mounts, the
# pure cgroup v2 hierarchy, then the per-run session script from the run
# share. Whatever happens, the guest powers off at the end.
poweroff() {
  sync
  echo o >/proc/sysrq-trigger
  sleep 60
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
echo 1 >/proc/sys/kernel/sysrq
modprobe 9p && modprobe 9pnet_virtio || echo "guest: cannot load the 9p modules"
mkdir -p /run/warden-guest
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 run0 /run/warden-guest; then
  echo "guest: cannot mount the run share"
  exit 1
fi
/bin/bash /run/warden-guest/session.sh
