#!/bin/bash
# Start the container (as root): namespaces, root filesystem, cgroups,
# network, and a static init as its PID 1.
#
#   ./start.sh
#
# The steps:
#   hook-parent-before-clone.sh  host: checks, stale state
#   warden-start (a static program of root-scripts/linux/src): forks the
#                                container's first process into new mount,
#                                UTS, IPC, net and PID namespaces, reports its
#                                host pid and waits
#   hook-parent-after-clone.sh   host: the cgroups' settings; meanwhile
#                                warden-start makes the veth pair and
#                                mounts the disk layer
#   warden-start, told "go":     joins the v1 cgroups (itself: no wait for
#                                the kernel's global lock; on v2 it was born
#                                in its cgroup); inside: overlay
#                                root, /dev, /proc and /sys,
#                                bind mounts, hostname, container side of the
#                                veth, pivot_root, the old root detached, the
#                                static init executed; then run/init.pid
# The init is left to the host's init, and keeps the container alive on its
# own. The hooks are sourced, each in a subshell (no bash to start for them).
# The firewall (net.sh setup) is made meanwhile: it needs nothing of the above.
# On failure the processes started here are killed; destroy.sh removes the
# rest (cgroups, veth, firewall).
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
[[ $0 != */* ]] || cd "${0%/*}"  # the script's own directory (no dirname process)
source lib/common.sh
source etc/config
require_vars start id container_init warden_start network_container_iface network_container_ip \
  network_netmask network_host_ip container_iface_mtu network_host_iface

readonly WAIT_SECONDS=30
init_pid="" starter_pid="" firewall=""

on_exit() {
  local status=$?
  if (( status != 0 )); then
    [[ -z $init_pid ]] || kill -KILL "$init_pid" 2>/dev/null || true
    [[ -z $starter_pid ]] || kill -KILL "$starter_pid" 2>/dev/null || true
    # Done before destroy.sh tears the firewall down.
    [[ -z $firewall ]] || wait "$firewall" 2>/dev/null || true
    if [[ -s run/start.log ]]; then
      echo "start: output of the container's start-up:" >&2
      tail -n 20 run/start.log >&2
    fi
  fi
}
trap on_exit EXIT

[[ ! -e run/init.pid ]] || fail start "container is already running (run/init.pid exists)"
[[ -x $warden_start ]] || fail start "missing $warden_start (build it with make helpers)"
: > run/start.log

# Firewall and traffic shaping belong to the networking part (net.sh).
if [[ -x ./net.sh ]]; then
  # Sourced in a subshell (net.sh keeps its own functions and variables
  # there): a fork instead of a new bash.
  ( source ./net.sh setup ) &
  firewall=$!
fi

( source ./lib/hook-parent-before-clone.sh )

# What warden-start builds (see its README): etc/config's values as options.
starter_args=(--root mnt --lower tmp/lower --upper tmp/rootfs --work tmp/work
  --dev-template "../$DEV_TEMPLATE" --hostname "$id" --iface "$network_container_iface"
  --restrict-proc-sys "${restrict_proc_sys:-true}" --pid-file run/init.pid)
if [[ -f tmp/disk.img ]]; then
  # The disk layer (warden-start mounts it) holds upper/ and work/.
  starter_args+=(--upper tmp/rootfs/upper --work tmp/rootfs/work
    --disk-image tmp/disk.img --disk-mount tmp/rootfs)
fi
for device in "${WARDEN_DEVICES[@]}"; do starter_args+=(--device "$device"); done
# The cgroup directories still missing (v1's; on v2 the server made the one):
# warden-start makes them before the hook needs them, without a mkdir.
cgroup_config_defaults
for dir in "${cgroup_dirs[@]}"; do [[ -d $dir ]] || starter_args+=(--mkdir "$dir"); done
# Their cgroups, configured before the first process enters them: v2's one
# (the server made it and its device filter) as its birthplace
# (--clone-into); v1's joined by the process at "go" (--join), once the hook
# has written their device lists.
for dir in "${cgroup_dirs[@]}"; do
  if [[ $cgroup_version == 2 ]]; then
    starter_args+=(--clone-into "$dir")
  else
    starter_args+=(--join "$dir")
  fi
done
for (( i = 0; i < ${#bind_mount_src[@]}; i++ )); do
  starter_args+=(--bind "${bind_mount_src[i]}" "${bind_mount_dst[i]}" "${bind_mount_mode[i]}")
done
# The veth pair (host end: address, up; container end: loopback up,
# address, MTU, default route through the host's end), made by warden-start
# by rtnetlink.
starter_args+=(--address "$network_container_ip" --netmask "$network_netmask"
  --mtu "$container_iface_mtu" --gateway "$network_host_ip"
  --host-iface "$network_host_iface" --host-address "$network_host_ip")

# warden-start's stdin and stdout are pipes to this script (the coproc): it
# writes the host pid of the container's first process, then "host-ready"
# once it has made the veth and mounted the disk layer (read by the hook);
# the first process reads "go" and writes "pivoted".
coproc CHILD { exec "$warden_start" "${starter_args[@]}" -- "$container_init" 2>> run/start.log; }
# Copies: bash unsets CHILD and CHILD_PID as soon as it reaps the coproc.
exec {from_child}<&"${CHILD[0]}" {to_child}>&"${CHILD[1]}"
starter_pid=$CHILD_PID

read -r -t "$WAIT_SECONDS" -u "$from_child" init_pid \
  || fail start "the container's first process did not start"
[[ $init_pid =~ ^[0-9]+$ ]] || fail start "bad pid from the container's first process: $init_pid"

( source ./lib/hook-parent-after-clone.sh )
echo go >&"$to_child"

read -r -t "$WAIT_SECONDS" -u "$from_child" reply || reply=""
[[ $reply == pivoted ]] || fail start "the container did not finish its set-up"
exec {from_child}<&- {to_child}>&-
# warden-start ends once the init runs, having written run/init.pid.
wait "$starter_pid" || fail start "the container's init did not start"
starter_pid=""
[[ -s run/init.pid ]] || fail start "no run/init.pid"

if [[ -n $firewall ]]; then
  wait "$firewall" || fail start "net.sh setup failed"
  firewall=""
fi
