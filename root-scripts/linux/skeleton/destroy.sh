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
[[ $0 != */* ]] || cd "${0%/*}"  # the script's own directory (no dirname process)
source lib/common.sh
source etc/config
require_vars destroy network_host_iface cgroup_freezer

readonly KILL_TIMEOUT_MS=10000

# The veth is deleted here, so that it is gone on return rather than when the
# kernel gets round to a dead namespace; its qdiscs go with it. (Killing the
# init meanwhile can take the pair away first: then it is gone, as wanted.)
# Then the firewall and the ifb, which belong to the networking part (net.sh).
teardown_network() {
  if has_link "$network_host_iface"; then
    ip link delete dev "$network_host_iface" 2>/dev/null || ! has_link "$network_host_iface" \
      || fail "destroy: network" "cannot delete $network_host_iface"
  fi
  if [[ -x ./net.sh ]]; then
    ./net.sh teardown || fail "destroy: network" "net.sh teardown failed"
  fi
}

# The veth of a namespace that died is deleted by the kernel a little later.
wait_veth_gone() {
  local tries
  for (( tries = 0; tries < 2500; tries++ )); do
    has_link "$network_host_iface" || return 0
    pause 0.002
  done
  fail "destroy: network" "$network_host_iface is still there"
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
    pause 0.002
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

# Every directory, sub-cgroups (a nested warden makes some) before their
# parents, in one rmdir; again while the kernel still holds one.
remove_cgroups() {
  local dir tries i
  local -a left nested
  for (( tries = 0; tries < 50; tries++ )); do
    left=()
    for dir in "${cgroup_dirs[@]}"; do
      [[ -d $dir ]] || continue
      # globstar lists a directory before what is below it: reversed, children first.
      shopt -s nullglob globstar
      nested=("$dir"/**/)
      shopt -u nullglob globstar
      for (( i = ${#nested[@]} - 1; i > 0; i-- )); do left+=("${nested[i]}"); done
      left+=("$dir")
    done
    (( ${#left[@]} > 0 )) || return 0
    rmdir "${left[@]}" 2>/dev/null && return 0
    pause 0.02
  done
  fail "destroy: cgroups" "cannot remove ${left[*]}"
}

# The network goes meanwhile: deleting a veth waits for the kernel (RCU), and
# nothing below touches it.
teardown_network &
network=$!
kill_processes
remove_cgroups
wait "$network" || fail "destroy: network" "network teardown failed"
wait_veth_gone
rm -f run/init.pid
