# shellcheck shell=bash
# common.sh: helpers shared by the insecure backend's scripts.
#
# An insecure container has no cgroup or namespace. Its processes are found
# through sessions: every job wrapper leads its own session and records it as
# <container>/sessions/<sid>, holding the wrapper's start time. Every process
# whose session id is recorded there belongs to the container. The start time
# tells a reused pid from ours while the wrapper lives. A process that starts
# a new session of its own (setsid) leaves the container: this backend does not
# isolate anything. A job on a terminal leads a session of its own (its
# keeper made it): it records that one in <container>/job-sessions/<sid>,
# whose leader is a job like any other process.

fail() {
  echo "$*" >&2
  exit 1
}

# Start time (clock ticks after boot) of a process, from /proc/<pid>/stat.
start_time() {
  local line rest
  { read -r line < "/proc/$1/stat"; } 2>/dev/null || return 1
  rest=${line##*) }
  read -r -a fields <<< "$rest"
  echo "${fields[19]}"
}

# Record the calling shell's session (call it from the session leader);
# the second argument "job-sessions" when the leader is a job itself.
record_session() {
  local path=$1 kind=${2:-sessions} start
  start=$(start_time "$$") || fail "job: cannot read my own start time"
  mkdir -p "$path/$kind"
  echo "$start" > "$path/$kind/$$"
}

# Print the pids of the container's live processes, one a line. Session
# leaders (the job wrappers) are left out unless the second argument is "all".
# Records whose session has ended are removed.
container_pids() {
  local path=$1 which=${2:-jobs}
  local -A ours=() seen=() jobs_lead=()
  local record sid start leader
  for record in "$path"/sessions/* "$path"/job-sessions/*; do
    [ -f "$record" ] || continue
    sid=${record##*/}
    [[ $record != */job-sessions/* ]] || jobs_lead[$sid]=1
    start=$(< "$record") || continue
    if leader=$(start_time "$sid") && [ "$leader" != "$start" ]; then
      rm -f "$record"  # the pid was reused by someone else: our session has ended
      continue
    fi
    ours[$sid]=1
  done
  [ "${#ours[@]}" -gt 0 ] || return 0
  local stat line pid rest
  for stat in /proc/[0-9]*/stat; do
    { read -r line < "$stat"; } 2>/dev/null || continue
    pid=${line%% *}
    rest=${line##*) }
    read -r -a fields <<< "$rest"
    sid=${fields[3]}
    [ -n "${ours[$sid]:-}" ] || continue
    [ "${fields[0]}" != Z ] || continue  # already dead, waiting to be reaped
    seen[$sid]=1
    if [ "$pid" = "$sid" ] && [ "$which" != all ] && [ -z "${jobs_lead[$sid]:-}" ]; then
      continue
    fi
    echo "$pid"
  done
  for sid in "${!ours[@]}"; do
    [ -n "${seen[$sid]:-}" ] || rm -f "$path/sessions/$sid" "$path/job-sessions/$sid"
  done
}

now_us() {
  local t=${EPOCHREALTIME/./}
  echo $(( 10#$t ))
}
