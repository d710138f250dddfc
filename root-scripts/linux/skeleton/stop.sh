#!/bin/bash
# Stop every process of the container but its init (as root).
#
#   ./stop.sh [-w SECONDS]     (default 10; 0 kills at once)
#
# TERM to every process of the container except the init, then KILL to
# whatever is left in its cgroup once SECONDS have passed; returns when only
# the init remains. TERM goes to the processes in the container's PID
# namespace only: the warden-exec processes that relay a job's exit status
# to its wrapper on the host end by themselves when their job ends, so that
# a job that handles TERM reports its own exit status. The init lives on, so
# files can still be copied out of a stopped container; destroy.sh ends it.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
[[ $0 != */* ]] || cd "${0%/*}"  # the script's own directory (no dirname process)
source lib/common.sh
source etc/config
cgroup_config_defaults
require_vars stop cgroup_dir

usage() { echo "usage: $0 [-w SECONDS]"; }
wait_seconds=10
while getopts ":w:h" option; do
  case $option in
    w) wait_seconds=$OPTARG ;;
    h) usage; exit 0 ;;
    *) ;;  # unknown options are ignored, as the original's
  esac
done
[[ $wait_seconds =~ ^[0-9]+$ ]] || fail stop "-w needs a number of seconds: $wait_seconds"

[[ -f run/init.pid ]] || fail stop "container is not running (no run/init.pid)"
read -r init_pid < run/init.pid
[[ -d $cgroup_dir ]] || fail stop "no cgroup $cgroup_dir"

# Whether any process but the init is left.
others_left() {
  local pid
  cgroup_pids "$cgroup_dir"
  for pid in "${CGROUP_PIDS[@]}"; do
    [[ $pid == "$init_pid" ]] || return 0
  done
  return 1
}

# Nothing but the init: nothing to stop (no freezing, no signal).
others_left || exit 0

now_ms
deadline=$(( NOW_MS + wait_seconds * 1000 ))
signal=TERM
(( wait_seconds > 0 )) || signal=KILL
if [[ $signal == TERM ]]; then
  signal_cgroup "$cgroup_dir" TERM "$init_pid" "$init_pid"
else
  signal_cgroup "$cgroup_dir" KILL "$init_pid"
fi
while others_left; do
  now_ms
  if [[ $signal == TERM ]] && (( NOW_MS >= deadline )); then
    signal=KILL
    signal_cgroup "$cgroup_dir" KILL "$init_pid"
  fi
  pause 0.005
done
