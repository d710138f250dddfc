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
# setrlimit takes them, or "unlimited"; unset ones get the original's
# defaults) and in the container's cgroups.
#
# JOB_DIR/pid gets the pid of the job's process group (what the server
# signals); JOB_DIR/exit_status gets its exit status (128+N when a signal
# N ended it) once it ends.
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
container_user "$2"
check_init
enter_argv

# name:ulimit-flag:unit:default (the original's wsh defaults)
readonly RLIMITS=(
  as:v:1024:unlimited core:c:1024:0 cpu:t:1:unlimited data:d:1024:unlimited
  fsize:f:1024:unlimited locks:x:1:unlimited memlock:l:1024:65536
  msgqueue:q:1:819200 nice:e:1:0 nofile:n:1:1024 nproc:u:1:1024
  rss:m:1024:unlimited rtprio:r:1:0 sigpending:i:1:1024 stack:s:1024:8388608
)

# ulimit counts some limits in KiB where setrlimit counts bytes.
apply_rlimits() {
  local entry name flag unit default var value
  for entry in "${RLIMITS[@]}"; do
    name=${entry%%:*} entry=${entry#*:}
    flag=${entry%%:*} entry=${entry#*:}
    unit=${entry%%:*} default=${entry#*:}
    var="RLIMIT_${name^^}"
    value=${!var:-$default}
    if [[ $value != unlimited ]]; then
      [[ $value =~ ^[0-9]+$ ]] || fail "job: rlimits" "$var must be a number or unlimited: $value"
      value=$(( value / unit ))
    fi
    ulimit "-$flag" "$value" || fail "job: rlimits" "cannot set $var to ${!var:-$default}"
  done
}

# Job control gives the job a process group of its own (its pid), which
# the server can signal without hitting this wrapper.
set -m
(
  exec < "$JOB_DIR/script"
  if [[ ${DISCARD_OUTPUT:-false} == true ]]; then
    exec > /dev/null 2>&1
  else
    exec >> "$JOB_DIR/stdout" 2>> "$JOB_DIR/stderr"
  fi
  join_cgroups
  apply_rlimits
  exec "${ENTER_ARGV[@]}" /bin/bash
) &
job_pid=$!
echo "$job_pid" > "$JOB_DIR/pid"
# From here on nothing is reported to the server, which may be gone.
exec > /dev/null 2> /dev/null < /dev/null
wait "$job_pid" && status=0 || status=$?
echo "$status" > "$JOB_DIR/exit_status"
