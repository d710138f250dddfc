#!/bin/bash
# Tear the container down (as root): its network, every process including
# the init, and its cgroups. The mounts go with the mount namespace when
# its last process dies. The root destroy.sh then removes the directory.
#
#   ./destroy.sh
#
# Once every process is dead and the veth is gone (nothing reaches the
# container's address), it calls destroy_torn_down when the root destroy.sh
# that sources it defines one (the server answers Destroy there); the
# firewall and the cgroups go after that.
#
# Each step is idempotent, so destroy.sh also cleans up after a start that
# failed part way, and can be run again after a failure.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
# The script's own directory (no dirname process); BASH_SOURCE, not $0: the
# root destroy.sh sources this script (in a subshell: no bash to start).
if [[ ${BASH_SOURCE[0]} == */* ]]; then cd "${BASH_SOURCE[0]%/*}"; fi
source lib/common.sh
source etc/config
cgroup_config_defaults
require_vars destroy network_host_iface cgroup_dir

readonly KILL_TIMEOUT_MS=10000

# The veth is deleted here, so that it is gone on return rather than when
# the kernel gets round to the dead namespace (it cleans dead namespaces up
# one after the other); its qdiscs go with it. It runs meanwhile with the
# kill (the kernel's unregistering takes tens of milliseconds of waiting):
# should the namespace die first and the kernel take the veth meanwhile, the
# link is just no longer there.
# The first try is started on its own (`ip` exec'd by the forked child: no
# subshell of bash around it); should it fail with the link still there,
# once more.
start_veth_delete() {
  veth=
  has_link "$network_host_iface" || return 0
  ip link delete dev "$network_host_iface" 2>/dev/null &
  veth=$!
}

veth_deleted() {
  [[ -z $veth ]] || wait "$veth" || ! has_link "$network_host_iface" \
    || ip link delete dev "$network_host_iface" 2>/dev/null \
    || ! has_link "$network_host_iface"
}

# The firewall and the ifb belong to the networking part (net.sh), sourced
# in a subshell (a fork instead of a bash start): it finds its directory by
# BASH_SOURCE, as this skeleton's copy does. Run as a background job (a
# subshell already: net.sh's definitions stay in it), whose status is
# waited for; not tested with || here, which would turn errexit off in it.
teardown_firewall() {
  if [[ -x ./net.sh ]]; then
    # shellcheck source=net.sh
    source ./net.sh teardown
  fi
}

# KILL to everything in the cgroups (the init too), until they are empty.
# The cgroup is frozen while its processes are listed, so each of them gets
# the KILL; it is sent again every 100 ms for any that joined since (a job
# starting meanwhile). In between, waits of 1, 2, 4 ... 16 ms: the kernel
# takes a while to tear the namespaces down, more so with many at once.
kill_processes() {
  local deadline next_signal=0 wait_ms=1 wait
  [[ -d $cgroup_dir ]] || return 0
  now_ms
  deadline=$(( NOW_MS + KILL_TIMEOUT_MS ))
  while true; do
    if (( NOW_MS >= next_signal )); then
      signal_cgroup "$cgroup_dir" KILL
      next_signal=$(( NOW_MS + 100 ))
    fi
    all_cgroups_empty && return 0
    now_ms
    (( NOW_MS < deadline )) || fail "destroy: processes" "processes left in $cgroup_dir: ${CGROUP_PIDS[*]}"
    printf -v wait '0.%03d' "$wait_ms"
    pause "$wait"
    (( wait_ms >= 16 )) || wait_ms=$(( wait_ms * 2 ))
    now_ms
  done
}

all_cgroups_empty() {
  local dir pid=""
  # The main cgroup's own list first: while processes are left, one read says so.
  read -r pid < "$cgroup_dir/cgroup.procs" 2>/dev/null || true
  [[ -z $pid ]] || return 1
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

# The veth goes meanwhile with the kill: nothing below touches it.
start_veth_delete
kill_processes
veth_deleted || fail "destroy: network" "cannot delete $network_host_iface"
# Every process dead, the container's address unreachable: what the answer
# to Destroy says. The rest goes after it (the subnet, the ports and the uid
# return to the server's pools only once this script has ended).
if declare -F destroy_torn_down >/dev/null; then destroy_torn_down; fi
teardown_firewall &
firewall=$!
remove_cgroups
wait "$firewall" || fail "destroy: network" "firewall teardown failed"
# The root destroy.sh removes the whole directory next (DESTROY_REMOVES_DIRECTORY).
[[ -n ${DESTROY_REMOVES_DIRECTORY:-} || ! -e run/init.pid ]] || rm -f run/init.pid
