#!/bin/bash
# Run one job in a container (as root); the server starts it in a session
# of its own, and it outlives the server.
#
#   JOB_DIR=PATH/jobs/7 DISCARD_OUTPUT=false OUTPUT_LIMIT=10485760 LANG=C.UTF-8 \
#   RLIMIT_NOFILE=1024 \
#   [PRIVILEGED_CAPS=default PRIVILEGED_NO_NEW_PRIVS=true SECCOMP=true] \
#   ./job.sh PATH vcap|root
#
# The server does not run this script: it builds the same command line
# itself (warden-server's linux/_job_command.py) and starts warden-keeper
# directly, with the script in an in-memory file as its stdin (no file of the
# depot), so that no bash starts on the request path. This is the manual
# equivalent, reading JOB_DIR/script; JOB_PRINT_ARGV=true prints the
# command (NUL-separated) instead of running it, and the Linux tests compare
# it with the server's for a live job.
#
# This script becomes warden-keeper (src/warden-keeper/keeper.c), which
# keeps the job's output on the host: the job is /bin/bash in the container,
# reading a sealed in-memory copy of the script, writing to pipes whose
# other ends the keeper holds;
# the keeper writes what comes to JOB_DIR/stdout and JOB_DIR/stderr (at most
# OUTPUT_LIMIT bytes together; every byte when OUTPUT_LIMIT is empty; no file
# and nothing kept when DISCARD_OUTPUT is true). The job never holds a host
# file it could write to. It is started by warden-exec (lib/enter.sh): as
# vcap or root, with fds 0-2, HOME, USER, PATH and LANG only, cwd the user's
# home, the rlimits RLIMIT_<NAME> (bytes, seconds or counts as setrlimit
# takes them, or "unlimited"; unset ones get the original's wsh defaults; one
# that cannot be set fails the job with status 255 and a line on its
# stderr), in the container's cgroups, with no_new_privs, the seccomp filter,
# and no capabilities (vcap) or the bounded set (root). PRIVILEGED_CAPS,
# PRIVILEGED_NO_NEW_PRIVS and SECCOMP loosen that (see lib/enter.sh).
#
# JOB_STDIN=true or JOB_TTY=ROWSxCOLUMNS make the job interactive (see
# ../common/keeper.sh): bash runs "-c SCRIPT". A terminal comes from the
# container's own devpts instance (through /proc/INIT_PID/root, so the job
# never sees a host pty); warden-exec --tty makes it the controlling
# terminal of a session the job leads inside the container.
#
# JOB_DIR/pid gets the pid of the job's process group (what the server
# signals) once the job is inside the container; it stays empty when the
# job could not get in (warden-exec's reason is on the job's stderr).
# JOB_DIR/exit_status gets its exit status (-N when a signal N ended it)
# once it ends; JOB_DIR/output_exceeded appears when it printed more than
# OUTPUT_LIMIT.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
root_scripts=${BASH_SOURCE[0]%/*}
source "$root_scripts/lib/common.sh"
source "$root_scripts/lib/enter.sh"
source "$root_scripts/../common/keeper.sh"

(( $# == 2 )) || fail job "usage: $0 CONTAINER_PATH vcap|root"
container=$1
require_vars job JOB_DIR
[[ -f $container/etc/config ]] || fail job "no container at $container"
source "$container/etc/config"
require_vars job id user_uid cgroup_parent
container_user "$2"
check_init
enter_argv

keeper_argv || fail job "cannot start the job's output keeper"
if [[ -n ${JOB_TTY:-} ]]; then
  KEEPER_ARGV=("${KEEPER_ARGV[0]}" --pty-root "/proc/$INIT_PID/root" --no-ctty "${KEEPER_ARGV[@]:1}")
  ENTER_ARGV+=(--tty)
fi
# warden-exec writes JOB_DIR/pid (its own pid, the job's process group) once
# the job is in the container, so the server's Spawn returns only then: a
# Stop that follows cannot miss a job still on its way in.
argv=("${KEEPER_ARGV[@]}" -- "${ENTER_ARGV[@]}" --pid-file "$JOB_DIR/pid" -- /bin/bash)
if [[ ${JOB_PRINT_ARGV:-false} == true ]]; then
  printf '%s\0' "${argv[@]}"  # the command, NUL-separated, instead of running it
  exit 0
fi
set +o xtrace  # DEBUG traces would land in the job's own stderr
exec < "$JOB_DIR/script"
exec "${argv[@]}"
