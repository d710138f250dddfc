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
# keeper made it): the pid in <container>/jobs/<id>/pid that leads its own
# session and whose parent leads a recorded one (its keeper) is such a job,
# and its session is the container's too, leader included.

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

# Record the calling shell's session (call it from the session leader).
record_session() {
  local path=$1 start
  start=$(start_time "$$") || fail "job: cannot read my own start time"
  mkdir -p "$path/sessions"
  echo "$start" > "$path/sessions/$$"
}

# Print the pids of the container's live processes, one a line. Session
# leaders (the job wrappers) are left out unless the second argument is "all".
# Records whose session has ended are removed.
container_pids() {
  local path=$1 which=${2:-jobs}
  local -A ours=() seen=() jobs_lead=()
  local record sid start leader
  for record in "$path"/sessions/*; do
    [ -f "$record" ] || continue
    sid=${record##*/}
    start=$(< "$record") || continue
    if leader=$(start_time "$sid") && [ "$leader" != "$start" ]; then
      rm -f "$record"  # the pid was reused by someone else: our session has ended
      continue
    fi
    ours[$sid]=1
  done
  [ "${#ours[@]}" -gt 0 ] || return 0
  local stat line pid rest job
  for job in "$path"/jobs/*/pid; do
    { read -r pid < "$job"; } 2>/dev/null || continue
    [[ $pid =~ ^[0-9]+$ ]] || continue
    { read -r line < "/proc/$pid/stat"; } 2>/dev/null || continue
    rest=${line##*) }
    read -r -a fields <<< "$rest"
    # A terminal job: its own session's leader, its keeper's child.
    if [ "${fields[3]}" = "$pid" ] && [ -n "${ours[${fields[1]}]:-}" ]; then
      jobs_lead[$pid]=1
    fi
  done
  for sid in "${!jobs_lead[@]}"; do ours[$sid]=1; done
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
    [ -n "${seen[$sid]:-}" ] || rm -f "$path/sessions/$sid"
  done
}

now_us() {
  local t=${EPOCHREALTIME/./}
  echo $(( 10#$t ))
}
