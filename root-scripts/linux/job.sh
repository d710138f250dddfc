#!/bin/bash
# Run one job in a container (as root); the server starts it in a session
# of its own, and it outlives the server.
#
#   JOB_DIR=PATH/jobs/7 DISCARD_OUTPUT=false LANG=C.UTF-8 RLIMIT_NOFILE=1024 \
#   ./job.sh PATH vcap|root
#
# The job is /bin/bash in the container, reading JOB_DIR/script, writing
# JOB_DIR/stdout and JOB_DIR/stderr (or /dev/null when DISCARD_OUTPUT is
# true), as vcap or root, with HOME, USER, PATH and LANG only, cwd the
# user's home, the rlimits RLIMIT_<NAME> (bytes, seconds or counts as
# setrlimit takes them, or "unlimited"; unset ones get the original's wsh
# defaults; one that cannot be set is reported on the job's stderr) and in
# the container's cgroups.
#
# JOB_DIR/pid gets the pid of the job's process group (what the server
# signals); JOB_DIR/exit_status gets its exit status (128+N when a signal
# N ended it) once it ends.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
root_scripts=${BASH_SOURCE[0]%/*}
source "$root_scripts/lib/common.sh"
source "$root_scripts/lib/enter.sh"
source "$root_scripts/../common/rlimits.sh"

(( $# == 2 )) || fail job "usage: $0 CONTAINER_PATH vcap|root"
container=$1
require_vars job JOB_DIR
[[ -f $container/etc/config ]] || fail job "no container at $container"
source "$container/etc/config"
require_vars job id user_uid cgroup_parent
container_user "$2"
check_init
enter_argv

# The limits the original's wsh gave a job for whatever neither the request
# nor the configuration sets (bytes, seconds, counts).
default_rlimits() {
  : "${RLIMIT_AS:=unlimited}" "${RLIMIT_CORE:=0}" "${RLIMIT_CPU:=unlimited}"
  : "${RLIMIT_DATA:=unlimited}" "${RLIMIT_FSIZE:=unlimited}" "${RLIMIT_LOCKS:=unlimited}"
  : "${RLIMIT_MEMLOCK:=65536}" "${RLIMIT_MSGQUEUE:=819200}" "${RLIMIT_NICE:=0}"
  : "${RLIMIT_NOFILE:=1024}" "${RLIMIT_NPROC:=1024}" "${RLIMIT_RSS:=unlimited}"
  : "${RLIMIT_RTPRIO:=0}" "${RLIMIT_SIGPENDING:=1024}" "${RLIMIT_STACK:=8388608}"
}

# Job control gives the job a process group of its own (its pid), which
# the server can signal without hitting this wrapper.
set -m
(
  set +o xtrace  # DEBUG traces would land in the job's own stderr
  exec < "$JOB_DIR/script"
  if [[ ${DISCARD_OUTPUT:-false} == true ]]; then
    exec > /dev/null 2>&1
  else
    exec >> "$JOB_DIR/stdout" 2>> "$JOB_DIR/stderr"
  fi
  join_cgroups
  # Should the request's rlimits crash what runs here before the job is in
  # the container (a tiny stack), its core goes with the job's directory.
  cd "$JOB_DIR"
  default_rlimits
  apply_rlimits
  exec "${ENTER_ARGV[@]}" /bin/bash
) &
job_pid=$!
if ! echo "$job_pid" > "$JOB_DIR/pid"; then
  # (A full disk.) The server would never know of the job: it must not run.
  kill -KILL -- "-$job_pid" 2> /dev/null || true
  fail job "cannot record the job's pid in $JOB_DIR"
fi
# From here on nothing is reported to the server, which may be gone.
exec > /dev/null 2> /dev/null < /dev/null
wait "$job_pid" && status=0 || status=$?
echo "$status" > "$JOB_DIR/exit_status"
