#!/bin/bash
# Run one job in a container (as root); the server starts it in a session
# of its own, and it outlives the server.
#
#   JOB_DIR=PATH/jobs/7 DISCARD_OUTPUT=false LANG=C.UTF-8 RLIMIT_NOFILE=1024 \
#   [PRIVILEGED_CAPS=default PRIVILEGED_NO_NEW_PRIVS=true SECCOMP=true] \
#   ./job.sh PATH vcap|root
#
# The job is /bin/bash in the container, reading JOB_DIR/script, writing
# JOB_DIR/stdout and JOB_DIR/stderr (or /dev/null when DISCARD_OUTPUT is
# true), started by warden-exec (lib/enter.sh): as vcap or root, with fds
# 0-2, HOME, USER, PATH and LANG only, cwd the user's home, the rlimits
# RLIMIT_<NAME> (bytes, seconds or counts as setrlimit takes them, or
# "unlimited"; unset ones get the original's wsh defaults; one that cannot
# be set fails the job with status 255 and a line on its stderr), in the
# container's cgroups, with no_new_privs, the seccomp filter, and no
# capabilities (vcap) or the bounded set (root). PRIVILEGED_CAPS,
# PRIVILEGED_NO_NEW_PRIVS and SECCOMP loosen that (see lib/enter.sh).
#
# JOB_DIR/pid gets the pid of the job's process group (what the server
# signals) once the job is inside the container; it stays empty when the
# job could not get in (warden-exec's reason is on the job's stderr).
# JOB_DIR/exit_status gets its exit status (128+N when a signal N ended it)
# once it ends.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
root_scripts=${BASH_SOURCE[0]%/*}
source "$root_scripts/lib/common.sh"
source "$root_scripts/lib/enter.sh"

(( $# == 2 )) || fail job "usage: $0 CONTAINER_PATH vcap|root"
container=$1
require_vars job JOB_DIR
[[ -f $container/etc/config ]] || fail job "no container at $container"
source "$container/etc/config"
require_vars job id user_uid cgroup_parent
container_user "$2"
check_init
enter_argv

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
  # warden-exec writes JOB_DIR/pid (this subshell's pid, the job's process
  # group) once the job is in the container, so the server's Spawn returns
  # only then: a Stop that follows cannot miss a job still on its way in.
  exec "${ENTER_ARGV[@]}" --pid-file "$JOB_DIR/pid" -- /bin/bash
) &
job_pid=$!
# From here on nothing is reported to the server, which may be gone.
exec > /dev/null 2> /dev/null < /dev/null
wait "$job_pid" && status=0 || status=$?
echo "$status" > "$JOB_DIR/exit_status"
