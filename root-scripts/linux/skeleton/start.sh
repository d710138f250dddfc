#!/bin/bash
# Start the container (as root): namespaces, root filesystem, cgroups,
# network, and a static init as its PID 1.
#
#   ./start.sh
#
# The steps, each a script of lib/ named after the original's hooks:
#   hook-parent-before-clone.sh  host: checks, stale state
#   (unshare: new mount, UTS, IPC, net and PID namespaces; the new PID 1
#    is lib/container-init.sh, which reports its host pid and waits)
#   hook-parent-after-clone.sh   host: cgroups (the new PID 1 joins them),
#                                host side of the veth pair
#   hook-child-before-pivot.sh   inside: overlay root, /dev, /proc, bind
#                                mounts, hostname, container side of the veth
#   (container-init.sh: pivot_root, then exec of the static init)
#   hook-child-after-pivot.sh    host: detaches the old root
# Then run/init.pid gets the host pid of the container's PID 1 and the
# unshare process that forked it is killed: only the init remains, a child
# of the host's init, and keeps the container alive on its own. The hooks
# are sourced, each in a subshell (no bash to start for them). The firewall
# (net.sh setup) is made meanwhile: it needs nothing of the above.
# On failure the processes started here are killed; destroy.sh removes the
# rest (cgroups, veth, firewall).
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
[[ $0 != */* ]] || cd "${0%/*}"  # the script's own directory (no dirname process)
source lib/common.sh
source etc/config
require_vars start id container_init

readonly WAIT_SECONDS=30
init_pid="" unshare_pid="" firewall=""

on_exit() {
  local status=$?
  if (( status != 0 )); then
    [[ -z $init_pid ]] || kill -KILL "$init_pid" 2>/dev/null || true
    [[ -z $unshare_pid ]] || kill -KILL "$unshare_pid" 2>/dev/null || true
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
: > run/start.log

# Firewall and traffic shaping belong to the networking part (net.sh).
if [[ -x ./net.sh ]]; then
  ./net.sh setup &
  firewall=$!
fi

( source ./lib/hook-parent-before-clone.sh )

# The child's stdin and stdout are pipes to this script (the coproc):
# it writes its host pid and "pivoted", and reads "go".
coproc CHILD {
  exec setsid unshare --mount --uts --ipc --net --pid --fork --propagation private \
    -- /bin/bash lib/container-init.sh 2>> run/start.log
}
# Copies: bash unsets CHILD and CHILD_PID as soon as it reaps the coproc.
exec {from_child}<&"${CHILD[0]}" {to_child}>&"${CHILD[1]}"
coproc_pid=$CHILD_PID

read -r -t "$WAIT_SECONDS" -u "$from_child" init_pid \
  || fail start "the container's first process did not start"
[[ $init_pid =~ ^[0-9]+$ ]] || fail start "bad pid from the container's first process: $init_pid"
read -r _ _ _ unshare_pid _ < "/proc/$init_pid/stat"

( PID=$init_pid; source ./lib/hook-parent-after-clone.sh )
echo go >&"$to_child"

read -r -t "$WAIT_SECONDS" -u "$from_child" reply || reply=""
[[ $reply == pivoted ]] || fail start "the container did not finish its set-up"

( PID=$init_pid; source ./lib/hook-child-after-pivot.sh )

echo "$init_pid" > run/init.pid.tmp
mv run/init.pid.tmp run/init.pid
# Nothing waits for the init any more: the host's init inherits it.
# (bash reports the KILL of the coproc on stderr while it reaps it: muted.)
{ kill -KILL "$unshare_pid"; wait "$coproc_pid" || true; } 2> /dev/null
exec {from_child}<&- {to_child}>&-

if [[ -n $firewall ]]; then
  wait "$firewall" || fail start "net.sh setup failed"
  firewall=""
fi
