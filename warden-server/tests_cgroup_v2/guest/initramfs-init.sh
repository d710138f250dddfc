#!/bin/busybox sh
# PID 1 of the initramfs: load the modules that reach the root disk, mount
# it and hand over to the guest's own init (/sbin/warden-guest-init).
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
die() {
  echo "initramfs: $*"
  echo o >/proc/sysrq-trigger
  sleep 60
}
while read -r module; do
  insmod "/lib/modules/$module" || echo "initramfs: insmod $module failed"
done </modules
tries=0
until [ -b /dev/vda ]; do
  tries=$((tries + 1))
  [ "$tries" -gt 100 ] && die "no root disk /dev/vda"
  sleep 0.1
done
mount -t ext4 /dev/vda /newroot || die "cannot mount /dev/vda"
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/warden-guest-init
