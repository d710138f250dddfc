#!/bin/bash
# Tear the container down (as root): its network, every process including
# the init, and its cgroups. The mounts go with the mount namespace when
# its last process dies. The root destroy.sh then removes the directory.
#
#   ./destroy.sh
#
# Each step is idempotent, so destroy.sh also cleans up after a start that
# failed part way, and can be run again after a failure.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
cd "$(dirname "$0")"
source lib/common.sh
source etc/config
require_vars destroy network_host_iface cgroup_freezer

readonly KILL_TIMEOUT_MS=10000

# Firewall and shaping belong to the networking part (net.sh); the veth is
# deleted here, before the namespace dies, so that it is gone on return
# rather than when the kernel gets round to a dead namespace.
teardown_network() {
  if [[ -x ./net.sh ]]; then
    ./net.sh teardown || fail "destroy: network" "net.sh teardown failed"
  fi
  if ip link show dev "$network_host_iface" >/dev/null 2>&1; then
    ip link delete dev "$network_host_iface" \
      || fail "destroy: network" "cannot delete $network_host_iface"
  fi
}

# KILL to everything in the cgroups (the init too), until they are empty.
kill_processes() {
  local deadline
  [[ -d $cgroup_freezer ]] || return 0
  now_ms
  deadline=$(( NOW_MS + KILL_TIMEOUT_MS ))
  while true; do
    signal_cgroup "$cgroup_freezer" KILL
    all_cgroups_empty && return 0
    now_ms
    (( NOW_MS < deadline )) || fail "destroy: processes" "processes left in $cgroup_freezer: ${CGROUP_PIDS[*]}"
    sleep 0.01
  done
}

all_cgroups_empty() {
  local dir
  for dir in "${cgroup_dirs[@]}"; do
    [[ -d $dir ]] || continue
    cgroup_pids "$dir"
    (( ${#CGROUP_PIDS[@]} == 0 )) || return 1
  done
}

# Sub-cgroups first (a nested warden makes some), then the instance itself.
remove_cgroups() {
  local dir tries
  for dir in "${cgroup_dirs[@]}"; do
    for (( tries = 0; tries < 50; tries++ )); do
      [[ -d $dir ]] || break
      find "$dir" -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null || true
      rmdir "$dir" 2>/dev/null && break
      sleep 0.02
    done
    [[ ! -d $dir ]] || fail "destroy: cgroups" "cannot remove $dir"
  done
}

teardown_network
kill_processes
remove_cgroups
rm -f run/init.pid
