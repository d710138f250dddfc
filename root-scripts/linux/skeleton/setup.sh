#!/bin/bash
# Prepare this container directory; run once by create.sh (as root).
#
# Writes etc/config, which every later script sources, and the container's
# writable layer tmp/rootfs (the overlay's upper directory): hostname, hosts,
# resolv.conf, the vcap user and group, vcap's home. Nothing is mounted on
# the host; start.sh mounts the overlay inside the container only.
#
# Environment (lower case, as the original's):
#   id                    container id, at most 11 characters (interface names)
#   network_host_ip       host side of the container's /30
#   network_container_ip  container side of it
#   network_netmask       default 255.255.255.252
#   container_iface_mtu   default 1500
#   user_uid              uid and gid of vcap
#   rootfs_path           the read-only lower layer (any directory tree)
#   cgroup_parent         cgroup directory that holds instance-<id>
#   cgroup_version, cgroup_dir, cgroup_dirs (one per line), cgroup_devices,
#   cgroup_devices_allow (one per line), cgroup_member: where the container's
#                         cgroups are, from the server (see lib/common.sh)
#   allow_nested_warden   true: no device restriction
#   restrict_proc_sys     true (default): /sys read-only, /proc's host-wide
#                         files masked or read-only; false: as the original
#                         (no /sys, all of /proc)
#   dns_servers           newline-separated; empty: derived from the host's
#   container_init        static init run as PID 1 (default /usr/bin/catatonit)
#   warden_start          the warden-start helper (create.sh gives its own
#                         bin/warden-start)
#   bind_mount_count      number of bind mounts, each given by
#   bind_mount_<i>_src, bind_mount_<i>_dst, bind_mount_<i>_mode (ro|rw)
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
# The script's own directory (no dirname process); BASH_SOURCE, not $0:
# create.sh sources this script (in a subshell: no bash to start).
if [[ ${BASH_SOURCE[0]} == */* ]]; then cd "${BASH_SOURCE[0]%/*}"; fi
source lib/common.sh

require_vars setup id network_host_ip network_container_ip user_uid rootfs_path cgroup_parent \
  cgroup_version cgroup_dir cgroup_dirs cgroup_member
network_netmask=${network_netmask:-255.255.255.252}
container_iface_mtu=${container_iface_mtu:-1500}
allow_nested_warden=${allow_nested_warden:-false}
restrict_proc_sys=${restrict_proc_sys:-true}
dns_servers=${dns_servers:-}
container_init=${container_init:-/usr/bin/catatonit}
warden_start=${warden_start:-}
bind_mount_count=${bind_mount_count:-0}

readonly LAYER=tmp/rootfs
# What mkdir makes below is 0755 (layer_attributes relies on it).
umask 022

check_input() {
  (( ${#id} <= 11 )) || fail setup "id $id is longer than 11 characters (w-<id>-0 must fit IFNAMSIZ)"
  [[ $id =~ ^[A-Za-z0-9]+$ ]] || fail setup "id must be alphanumeric: $id"
  [[ $user_uid =~ ^[0-9]+$ ]] || fail setup "user_uid must be a number: $user_uid"
  [[ $restrict_proc_sys == true || $restrict_proc_sys == false ]] \
    || fail setup "restrict_proc_sys must be true or false: $restrict_proc_sys"
  [[ -d $rootfs_path ]] || fail setup "rootfs $rootfs_path not found"
  # Its canonical path (realpath's), by cd -P and back: no process.
  local here=$PWD
  CDPATH='' cd -P -- "$rootfs_path" || fail setup "rootfs $rootfs_path not found"
  rootfs_path=$PWD
  cd -- "$here"
  [[ -x $container_init ]] || fail setup "container init $container_init not found"
}

# Bind mounts become three arrays in etc/config.
collect_bind_mounts() {
  local i src dst mode
  bind_mount_src=() bind_mount_dst=() bind_mount_mode=()
  for (( i = 0; i < bind_mount_count; i++ )); do
    require_vars setup "bind_mount_${i}_src" "bind_mount_${i}_dst" "bind_mount_${i}_mode"
    src="bind_mount_${i}_src" dst="bind_mount_${i}_dst" mode="bind_mount_${i}_mode"
    [[ -e ${!src} ]] || fail setup "Source path for bind mount does not exist: ${!src}"
    [[ ${!dst} == /* && /${!dst}/ != */../* ]] \
      || fail setup "bind mount destination must be an absolute path without '..': ${!dst}"
    [[ ${!mode} == ro || ${!mode} == rw ]] || fail setup "bind mount mode must be ro or rw: ${!mode}"
    bind_mount_src+=("$(realpath -e -- "${!src}")")
    bind_mount_dst+=("${!dst}")
    bind_mount_mode+=("${!mode}")
  done
}

# The server's cgroup paths become etc/config's arrays.
collect_cgroups() {
  [[ $cgroup_version == 1 || $cgroup_version == 2 ]] \
    || fail setup "cgroup_version must be 1 or 2: $cgroup_version"
  cgroup_devices=${cgroup_devices:-}
  mapfile -t cgroup_dirs <<< "$cgroup_dirs"
  if [[ -n ${cgroup_devices_allow:-} ]]; then
    mapfile -t cgroup_devices_allow <<< "$cgroup_devices_allow"
  else
    cgroup_devices_allow=()
  fi
  [[ $cgroup_version == 2 || -n $cgroup_devices ]] || fail setup "cgroup v1 needs cgroup_devices"
}

# etc/config in one write (no temporary file and mv): it is written last, so
# destroy.sh, which only runs the container's own destroy.sh when the file
# exists, never meets one cut short by anything but a kill in that write.
write_config() {
  local name text quoted
  text="# Written by setup.sh; sourced by the container's scripts."$'\n'
  for name in id network_netmask network_host_ip network_container_ip container_iface_mtu \
      user_uid rootfs_path cgroup_parent allow_nested_warden restrict_proc_sys container_init \
      warden_start \
      cgroup_version cgroup_dir cgroup_devices cgroup_member; do
    printf -v text '%s%s=%q\n' "$text" "$name" "${!name}"
  done
  printf -v text '%snetwork_host_iface=%q\nnetwork_container_iface=%q\nnetwork_ifb_iface=%q\n' \
    "$text" "w-$id-0" "w-$id-1" "w-$id-2"
  for name in cgroup_dirs cgroup_devices_allow bind_mount_src bind_mount_dst bind_mount_mode; do
    local -n array=$name
    text+="$name=("
    quoted=""
    (( ${#array[@]} == 0 )) || printf -v quoted ' %q' "${array[@]}"
    text+="$quoted"$' )\n'
    unset -n array
  done
  printf '%s' "$text" > etc/config
}

# The layer's directories (mkdir made them root's, 0755) get the owner and
# mode of the lower layer's, because overlayfs shows the upper directory's
# attributes: one stat for all, chown and chmod only where they differ.
# Sets SKEL_MODE to the mode of the lower etc/skel (empty without one).
layer_attributes() {
  local dir mode uid gid name
  local -a dirs=()
  SKEL_MODE=""
  for dir in etc home etc/skel; do
    [[ -d $rootfs_path/$dir && ! -L $rootfs_path/$dir ]] && dirs+=("$rootfs_path/$dir")
  done
  (( ${#dirs[@]} > 0 )) || return 0
  while read -r mode uid gid name; do
    dir=${name#"$rootfs_path/"}
    if [[ $dir == etc/skel ]]; then SKEL_MODE=$mode; continue; fi
    [[ $uid:$gid == 0:0 ]] || chown "$uid:$gid" "$LAYER/$dir"
    [[ $mode == 755 ]] || chmod "$mode" "$LAYER/$dir"
  done < <(stat -c '%a %u %g %n' -- "${dirs[@]}")
}

# Copies of regular files of the lower layer without their vcap lines, owner
# and mode kept (symlinks are not followed: they would point into the host),
# or empty files: one cp for all, then each rewritten in place.
layer_copies() {
  local file line
  local -a lower=() lines
  for file in "$@"; do
    [[ -f $rootfs_path/$file && ! -L $rootfs_path/$file ]] && lower+=("$rootfs_path/$file")
  done
  (( ${#lower[@]} == 0 )) || cp -p -- "${lower[@]}" "$LAYER/etc/"
  for file in "$@"; do
    if [[ -f $rootfs_path/$file && ! -L $rootfs_path/$file ]]; then
      mapfile -t lines < "$rootfs_path/$file"
      for line in "${lines[@]}"; do
        [[ $line == vcap:* ]] || printf '%s\n' "$line"
      done > "$LAYER/$file"
    else
      : > "$LAYER/$file"
    fi
  done
}

write_identity() {
  echo "$id" > "$LAYER/etc/hostname"
  printf '127.0.0.1 localhost\n%s %s\n' "$network_container_ip" "$id" > "$LAYER/etc/hosts"
}

# resolv.conf as the original writes it: the configured servers; else the
# host side of the /30 when the host resolves through a local stub; else
# the host's own file.
write_resolv_conf() {
  local server
  local -a host=()
  [[ ! -r /etc/resolv.conf ]] || mapfile -t host < /etc/resolv.conf
  if [[ -n $dns_servers ]]; then
    while read -r server; do
      [[ -n $server ]] && echo "nameserver $server"
    done <<< "$dns_servers" > "$LAYER/etc/resolv.conf"
  elif [[ ${#host[@]} == 1 && ${host[0]} == "nameserver 127.0.0.1" ]]; then
    echo "nameserver $network_host_ip" > "$LAYER/etc/resolv.conf"
  else
    (( ${#host[@]} == 0 )) || printf '%s\n' "${host[@]}" > "$LAYER/etc/resolv.conf"
    (( ${#host[@]} > 0 )) || : > "$LAYER/etc/resolv.conf"
  fi
}

# vcap's uid and gid are the pool uid. Written straight into the layer's
# passwd, group and shadow (no useradd: the rootfs may not have one), which
# the layout holds without any vcap line of the rootfs.
write_vcap() {
  local lower_passwd="$rootfs_path/etc/passwd"
  old_uid="" old_gid=""
  if [[ -f $lower_passwd && ! -L $lower_passwd ]]; then
    local line
    while IFS= read -r line; do
      if [[ $line == vcap:* ]]; then IFS=: read -r _ _ old_uid old_gid _ <<< "$line"; fi
    done < "$lower_passwd"
  fi
  echo "vcap:x:$user_uid:$user_uid::/home/vcap:/bin/bash" >> "$LAYER/etc/passwd"
  echo "vcap:x:$user_uid:" >> "$LAYER/etc/group"
  if [[ -s $LAYER/etc/shadow ]]; then
    echo "vcap:*:$(( EPOCHSECONDS / 86400 )):0:99999:7:::" >> "$LAYER/etc/shadow"
  fi
  # create.sh's clone of the layout template made it vcap's already.
  [[ ${vcap_home_owned:-} == true ]] || chown -R "$user_uid:$user_uid" "$LAYER/home/vcap"
}

# What depends on the rootfs alone (create.sh keeps it as a template for
# the next creates on the same rootfs): the directories, the overlay's link
# to the lower layer, the layer's directories' attributes, passwd, group and
# shadow without vcap, vcap's home from skel (still root's), root's home.
write_layout() {
  mkdir -p etc run jobs tmp/work mnt "$LAYER/etc" "$LAYER/home/vcap"
  # The overlay names its lower layer through this link: no path escaping in
  # mount options (a rootfs path may hold ',' or ':').
  ln -sfn "$rootfs_path" tmp/lower
  layer_attributes
  layer_copies etc/passwd etc/group etc/shadow
  # home/vcap (made 0755 with the layout) takes skel's attributes with its
  # files, and 0755 again after them (write_vcap only changes its owner).
  if [[ -n $SKEL_MODE ]]; then
    cp -a "$rootfs_path/etc/skel/." "$LAYER/home/vcap/"
    [[ $SKEL_MODE == 755 ]] || chmod 0755 "$LAYER/home/vcap"
  fi
  # root's home is where privileged jobs start.
  [[ -d $rootfs_path/root ]] || mkdir -m 0700 "$LAYER/root"
}

# A rootfs that already has a vcap user with other ids: its files are
# re-owned to the pool uid, through the overlay (a private mount namespace,
# so the host never sees the mount).
reown_old_vcap_files() {
  [[ -n $old_uid && ( $old_uid != "$user_uid" || $old_gid != "$user_uid" ) ]] || return 0
  unshare --mount --propagation private -- /bin/bash -o errexit -o nounset -c '
    mount -t overlay overlay -o lowerdir=tmp/lower,upperdir=tmp/rootfs,workdir=tmp/work mnt
    find mnt -xdev -uid "$1" -exec chown -h "$3" {} +
    find mnt -xdev -gid "$2" -exec chgrp -h "$3" {} +
  ' reown "$old_uid" "$old_gid" "$user_uid" \
    || fail setup "cannot re-own the rootfs's vcap files"
}

check_input
collect_bind_mounts
collect_cgroups
# setup_part (from create.sh): "layout" makes the layout alone (a template),
# "container" expects it made (a copy of one); unset: both.
[[ ${setup_part:-} == container ]] || write_layout
[[ ${setup_part:-} != layout ]] || return 0 2>/dev/null || exit 0
write_identity
write_resolv_conf
write_vcap
reown_old_vcap_files
write_config
