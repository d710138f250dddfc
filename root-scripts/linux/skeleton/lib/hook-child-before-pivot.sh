#!/bin/bash
# Start, inside the container's new namespaces (mount namespace private),
# before pivot_root: everything the container's root needs, built with the
# host's tools because after the pivot only the container's files exist.
# Run by container-init.sh; by hand only inside such namespaces.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
# The container directory; BASH_SOURCE, not $0: start.sh sources the hooks
# (in a subshell: no bash to start).
if [[ ${BASH_SOURCE[0]} == */* ]]; then cd "${BASH_SOURCE[0]%/*}/.."; else cd ..; fi
source lib/common.sh
source etc/config
require_vars child-before-pivot id rootfs_path network_container_iface network_container_ip network_host_ip network_netmask container_iface_mtu

readonly ROOT=mnt

# The read-only rootfs under this container's writable layer. With disk
# limits on a loop image (root-scripts/linux/disk.sh), the layer is that
# image, which hook-parent-after-clone.sh mounted on tmp/rootfs in this
# mount namespace; it holds the overlay's upper and work directories.
mount_root() {
  local upper=tmp/rootfs work=tmp/work
  if [[ -f tmp/disk.img ]]; then
    is_mount_point "$PWD/tmp/rootfs" || fail "child-before-pivot: root" "the disk layer is not mounted"
    upper=tmp/rootfs/upper work=tmp/rootfs/work
  fi
  mount -t overlay overlay -o "lowerdir=tmp/lower,upperdir=$upper,workdir=$work" "$ROOT" \
    || fail "child-before-pivot: root" "cannot mount the overlay of $rootfs_path"
}

# is_mount_point PATH: whether PATH (absolute) is a mount point here.
is_mount_point() {
  local -a fields
  while read -r -a fields; do
    [[ ${fields[4]} == "$1" ]] && return 0
  done < /proc/self/mountinfo
  return 1
}

# A minimal /dev on a small tmpfs: the devices the devices cgroup allows,
# a private devpts instance, the fd links, and /dev/shm (copied from the
# depot's template that setup.sh made, else made here one by one).
mount_dev() {
  local dev=$ROOT/dev template=../$DEV_TEMPLATE
  [[ -d $dev ]] || mkdir -p "$dev"
  mount -t tmpfs -o nosuid,noexec,mode=0755,size=64k devtmp "$dev"
  if [[ -O $template && -c $template/null && -d $template/pts ]]; then
    cp -a "$template"/* "$dev/"
  else
    make_devices "$dev"
  fi
  mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$dev/pts"
  mount -t tmpfs -o nosuid,nodev,mode=1777 shm "$dev/shm"
}

# What a container may not see or change of the kernel through /proc and
# /sys (runc's maskedPaths and readonlyPaths): files masked by /dev/null,
# directories by an empty read-only tmpfs, and read-only copies of what
# stays readable. Paths this kernel lacks are left out.
readonly MASKED_PROC_FILES=(kcore keys latency_stats timer_list timer_stats sched_debug)
readonly MASKED_PROC_DIRS=(acpi asound scsi)
readonly READONLY_PROC_PATHS=(bus fs irq sys sysrq-trigger)
readonly MASKED_SYS_DIRS=(firmware devices/virtual/powercap)

# fstab_field TEXT: set FSTAB_FIELD to TEXT as one fstab field (octal
# escapes for the separators, as getmntent(3) reads them back).
fstab_field() {
  local text=${1//\\/\\134}
  text=${text// /\\040}
  text=${text//$'\t'/\\011}
  FSTAB_FIELD=${text//$'\n'/\\012}
}

# /proc of the container's own PID namespace (this process is its PID 1).
# With restrict_proc_sys (the default), also /sys (sysfs, read-only) and
# the masks above. All of it is one mount(8) of a generated fstab, in its
# order; whether a path exists is judged on the host's /proc and /sys (the
# same kernel).
mount_proc_sys() {
  local fstab=run/proc-sys.fstab root path
  local readonly_options=ro,nosuid,nodev,noexec
  fstab_field "$PWD/$ROOT"
  root=$FSTAB_FIELD
  mkdir -p "$ROOT/proc" "$ROOT/sys"
  {
    echo "proc $root/proc proc nosuid,nodev,noexec 0 0"
    if [[ ${restrict_proc_sys:-true} == true ]]; then
      echo "sysfs $root/sys sysfs $readonly_options 0 0"
      for path in "${MASKED_PROC_FILES[@]}"; do
        [[ ! -f /proc/$path ]] || echo "$root/dev/null $root/proc/$path none bind,ro 0 0"
      done
      for path in "${MASKED_PROC_DIRS[@]}"; do
        [[ ! -d /proc/$path ]] \
          || echo "tmpfs $root/proc/$path tmpfs $readonly_options,size=4k,mode=0555 0 0"
      done
      for path in "${READONLY_PROC_PATHS[@]}"; do
        [[ ! -e /proc/$path ]] \
          || echo "$root/proc/$path $root/proc/$path none bind,$readonly_options 0 0"
      done
      for path in "${MASKED_SYS_DIRS[@]}"; do
        [[ ! -d /sys/$path ]] \
          || echo "tmpfs $root/sys/$path tmpfs $readonly_options,size=4k,mode=0555 0 0"
      done
    fi
  } > "$fstab"
  mount --all --fstab "$fstab" \
    || fail "child-before-pivot: proc and sys" "cannot mount what $fstab lists"
}

# Create's bind mounts. A destination is created in the writable layer when
# the rootfs lacks it (a directory, or an empty file for a file source).
mount_binds() {
  local i src dst mode
  for (( i = 0; i < ${#bind_mount_src[@]}; i++ )); do
    src=${bind_mount_src[$i]} dst=$ROOT${bind_mount_dst[$i]} mode=${bind_mount_mode[$i]}
    if [[ -d $src ]]; then
      mkdir -p "$dst"
    elif [[ ! -e $dst ]]; then
      mkdir -p "$(dirname "$dst")"
      : > "$dst"
    fi
    mount --bind "$src" "$dst" \
      || fail "child-before-pivot: bind mounts" "cannot bind-mount $src"
    mount -o "remount,bind,$mode" "$dst" \
      || fail "child-before-pivot: bind mounts" "cannot remount $src $mode"
  done
}

# Written to the UTS namespace of the writer (this one): no hostname process.
set_hostname() {
  echo "$id" > /proc/sys/kernel/hostname || fail "child-before-pivot: hostname" "cannot set the hostname"
}

# The container's end of the veth (created by hook-parent-after-clone.sh in
# this network namespace): no IPv6 (a link-local address would reach the
# host past its IPv4 firewall; loopback keeps ::1), address, MTU, default
# route through the host. Every group may open ICMP echo sockets (as
# container engines set it): ping works without CAP_NET_RAW, which jobs
# never get back from ping's file capability under no_new_privs. The
# setting is the namespace's own; the packets meet the same firewall.
setup_network() {
  local ipv6=/proc/sys/net/ipv6/conf name
  echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range \
    || fail "child-before-pivot: network" "cannot allow ICMP echo sockets (ping_group_range)"
  if [[ -d $ipv6 ]]; then
    for name in default "$network_container_iface"; do
      echo 1 > "$ipv6/$name/disable_ipv6" \
        || fail "child-before-pivot: network" "cannot turn IPv6 off on $name"
    done
  fi
  ip -batch - <<EOT || fail "child-before-pivot: network" "cannot configure $network_container_iface"
link set dev lo up
address add $network_container_ip/$network_netmask broadcast + dev $network_container_iface
link set dev $network_container_iface mtu $container_iface_mtu up
route add default via $network_host_ip
EOT
}

mount_root
mount_dev
mount_proc_sys
mount_binds
set_hostname
setup_network
