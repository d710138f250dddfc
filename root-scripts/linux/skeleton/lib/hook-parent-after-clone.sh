#!/bin/bash
# Start, on the host, once the container's first process exists and waits:
# its cgroups' settings (it joins them itself at start.sh's "go": warden-start
# --join); then waits for warden-start's host side (the veth, the disk layer)
# on from_child, start.sh's pipe from warden-start.
#
#   [from_child=FD] lib/hook-parent-after-clone.sh
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
# The container directory; BASH_SOURCE, not $0: start.sh sources the hooks
# (in a subshell: no bash to start).
if [[ ${BASH_SOURCE[0]} == */* ]]; then cd "${BASH_SOURCE[0]%/*}/.."; else cd ..; fi
source lib/common.sh
source etc/config
cgroup_config_defaults
require_vars parent-after-clone cgroup_dir allow_nested_warden network_host_iface network_container_iface network_host_ip network_netmask container_iface_mtu

# Every directory configured before the process joins (after this hook), so
# that nothing in the container ever runs outside them. The devices it may
# use (the server's list): on v1 the devices cgroup's allow list, written
# here; on v2 an eBPF program the server attached to the directory it made
# before this start.
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
}

# The host's side, made by warden-start meanwhile (no program to start):
# the veth pair (the container's end created right in the first process's
# network namespace; this end with the host address of the /30, the MTU, up,
# no IPv6 and strict reverse-path filtering: see warden-start's README) and,
# with a disk layer, its mount in that process's mount namespace (warden-start is a
# host process, outside the container's cgroups, whose device restriction
# keeps the container's own processes away from loop devices) and
# setup.sh's first files moved into it. warden-start says "host-ready" on
# start.sh's pipe (from_child) when that is done; on a failure its reason
# is in run/start.log.
wait_for_host_side() {
  local reply=""
  [[ -n ${from_child:-} ]] || fail "parent-after-clone: host" "from_child (warden-start's pipe) is not set"
  read -r -t 30 -u "$from_child" reply || true
  [[ $reply == host-ready ]] \
    || fail "parent-after-clone: host" "cannot make $network_host_iface or mount the disk layer tmp/disk.img"
}

# warden-start makes the host's side meanwhile.
setup_cgroups
wait_for_host_side
