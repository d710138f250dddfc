#!/bin/bash
# Start, on the host, once the container's first process exists (PID, host
# pid) and waits: its cgroups, the host side of its network and, with a disk
# layer, its first files (from_child: start.sh's pipe from warden-start).
#
#   PID=1234 [from_child=FD] lib/hook-parent-after-clone.sh
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
# The container directory; BASH_SOURCE, not $0: start.sh sources the hooks
# (in a subshell: no bash to start).
if [[ ${BASH_SOURCE[0]} == */* ]]; then cd "${BASH_SOURCE[0]%/*}/.."; else cd ..; fi
source lib/common.sh
source etc/config
cgroup_config_defaults
require_vars parent-after-clone PID cgroup_dir allow_nested_warden network_host_iface network_container_iface network_host_ip network_netmask container_iface_mtu

# Every directory configured before the process joins, so that nothing in
# the container ever runs outside them. The devices it may use (the server's
# list): on v1 the devices cgroup's allow list, written here; on v2 an eBPF
# program the server attached to the directory it made before this start.
setup_cgroups() {
  local dir device
  local -a missing=()
  # On v2 the server has made the one directory: no mkdir then.
  for dir in "${cgroup_dirs[@]}"; do [[ -d $dir ]] || missing+=("$dir"); done
  (( ${#missing[@]} == 0 )) || mkdir -p "${missing[@]}" \
    || fail "parent-after-clone: cgroups" "cannot create ${missing[*]}"
  if [[ $cgroup_version == 1 && $allow_nested_warden != true ]]; then
    echo a > "$cgroup_devices/devices.deny"
    for device in "${cgroup_devices_allow[@]}"; do
      echo "$device" > "$cgroup_devices/devices.allow"
    done
  fi
  for dir in "${cgroup_dirs[@]}"; do
    echo "$PID" > "$dir/cgroup.procs" \
      || fail "parent-after-clone: cgroups" "cannot move $PID into $dir"
  done
}

# The veth pair: the container's end is created right in its network
# namespace; this end gets the host address of the /30.
setup_veth() {
  ip -batch - <<EOT || fail "parent-after-clone: network" "cannot create $network_host_iface"
link add name $network_host_iface mtu $container_iface_mtu type veth peer name $network_container_iface mtu $container_iface_mtu netns $PID
address add $network_host_ip/$network_netmask broadcast + dev $network_host_iface
link set dev $network_host_iface up
EOT
  guard_host_end
}

# The host's end carries IPv4 only, and only from the container's address:
# - no IPv6: the firewall is iptables (IPv4), so a link-local IPv6 address
#   on each end would let the container reach every host service listening
#   on [::] past it (warden-start turns it off on the other end);
# - strict reverse-path filtering: a packet whose source address would not
#   be routed back through this veth (a spoofed one) is dropped before the
#   firewall sees it, so a container that could forge packets still could not
#   pass for the host, another container or a network the INPUT rules let in.
# Written to /proc/sys directly (the host's network namespace: no process).
guard_host_end() {
  local conf
  conf=/proc/sys/net/ipv6/conf/$network_host_iface/disable_ipv6
  if [[ -e $conf ]]; then
    echo 1 > "$conf" || fail "parent-after-clone: network" "cannot turn IPv6 off on $network_host_iface"
  fi
  conf=/proc/sys/net/ipv4/conf/$network_host_iface/rp_filter
  echo 1 > "$conf" || fail "parent-after-clone: network" "cannot turn rp_filter on for $network_host_iface"
}

# The disk layer (a loop-mounted image, see root-scripts/linux/disk.sh), in
# the container's mount namespace only: warden-start (a host process, outside
# the container's cgroups, whose device restriction keeps the container's
# own processes away from loop devices) attaches it to a loop device of its
# own (set to clear itself when its last mount goes), mounts it in PID's
# mount namespace meanwhile with this hook, moves setup.sh's first files
# from tmp/rootfs into its upper/ (disk.sh create copied a template image and
# mounted nothing) and says "mounted" on start.sh's pipe (from_child): no
# program to start. This waits for it before the start goes on.
wait_for_disk_layer() {
  [[ -f tmp/disk.img ]] || return 0
  local reply=""
  [[ -n ${from_child:-} ]] || fail "parent-after-clone: disk" "from_child (warden-start's pipe) is not set"
  read -r -t 30 -u "$from_child" reply || true
  [[ $reply == mounted ]] || fail "parent-after-clone: disk" "cannot mount the disk layer tmp/disk.img"
}

# The disk layer is mounted meanwhile (by warden-start, outside the
# container's cgroups): the first process's move into its cgroups waits for
# the kernel (an RCU grace period on v1), the mount for its loop device.
setup_cgroups
setup_veth
wait_for_disk_layer
