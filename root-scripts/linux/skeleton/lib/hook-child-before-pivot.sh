#!/bin/bash
# Start, inside the container's new namespaces (mount namespace private),
# before pivot_root: everything the container's root needs, built with the
# host's tools because after the pivot only the container's files exist.
# Run by container-init.sh; by hand only inside such namespaces.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
cd "$(dirname "$0")/.."
source lib/common.sh
source etc/config
require_vars child-before-pivot id rootfs_path network_container_iface network_container_ip network_host_ip network_netmask container_iface_mtu

readonly ROOT=mnt

# The read-only rootfs under this container's writable layer.
mount_root() {
  mount -t overlay overlay -o lowerdir=tmp/lower,upperdir=tmp/rootfs,workdir=tmp/work "$ROOT" \
    || fail "child-before-pivot: root" "cannot mount the overlay of $rootfs_path"
}

# A minimal /dev on a small tmpfs: the devices the devices cgroup allows,
# a private devpts instance, the fd links, and /dev/shm.
mount_dev() {
  local dev=$ROOT/dev
  mkdir -p "$dev"
  mount -t tmpfs -o nosuid,noexec,mode=0755,size=64k devtmp "$dev"
  mknod -m 0666 "$dev/null" c 1 3
  mknod -m 0666 "$dev/zero" c 1 5
  mknod -m 0666 "$dev/full" c 1 7
  mknod -m 0666 "$dev/random" c 1 8
  mknod -m 0666 "$dev/urandom" c 1 9
  mknod -m 0666 "$dev/tty" c 5 0
  mknod -m 0666 "$dev/fuse" c 10 229
  mkdir -m 0755 "$dev/pts" "$dev/shm"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$dev/pts"
  ln -s pts/ptmx "$dev/ptmx"
  chmod 1777 "$dev/shm"
  mount -t tmpfs -o nosuid,nodev,mode=1777 shm "$dev/shm"
  ln -s /proc/self/fd "$dev/fd"
  ln -s /proc/self/fd/0 "$dev/stdin"
  ln -s /proc/self/fd/1 "$dev/stdout"
  ln -s /proc/self/fd/2 "$dev/stderr"
} 

# /proc of the container's own PID namespace (this process is its PID 1).
mount_proc() {
  mkdir -p "$ROOT/proc"
  mount -t proc -o nosuid,nodev,noexec proc "$ROOT/proc"
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

set_hostname() {
  hostname "$id" || fail "child-before-pivot: hostname" "cannot set the hostname"
}

# The container's end of the veth (created by hook-parent-after-clone.sh in
# this network namespace): address, MTU, default route through the host.
setup_network() {
  ip -batch - <<EOT || fail "child-before-pivot: network" "cannot configure $network_container_iface"
link set dev lo up
address add $network_container_ip/$network_netmask broadcast + dev $network_container_iface
link set dev $network_container_iface mtu $container_iface_mtu up
route add default via $network_host_ip
EOT
}

mount_root
mount_dev
mount_proc
mount_binds
set_hostname
setup_network
