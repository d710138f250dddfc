# shellcheck shell=bash
# Shared helpers of the linux backend's scripts. Sourced, never run.
# create.sh copies this file into every container's lib/, so a container
# directory keeps working with the scripts it was created with.

# fail STEP MESSAGE...: report "STEP: MESSAGE" on stderr and exit 1.
fail() {
  local step=$1
  shift
  echo "$step: $*" >&2
  exit 1
}

# require_vars STEP NAME...: each NAME must be set and not empty.
require_vars() {
  local step=$1 name
  local -a missing=()
  shift
  for name in "$@"; do
    [[ -n "${!name:-}" ]] || missing+=("$name")
  done
  (( ${#missing[@]} == 0 )) || fail "$step" "required variable(s) not set: ${missing[*]}"
}

# The cgroup v1 controllers every container gets a directory in.
WARDEN_CONTROLLERS=(cpu cpuacct memory devices pids freezer)

# cgroup_mounts: print "controller mountpoint" for every mounted cgroup v1
# controller (from the hierarchy's root mount, as /proc/self/mountinfo
# lists it). Co-mounted controllers (cpu,cpuacct) print one line each.
# (Builtins only: no process.)
cgroup_mounts() {
  local option i
  local -a fields options
  local -A seen=()
  while read -r -a fields; do
    for (( i = 6; i < ${#fields[@]}; i++ )); do [[ ${fields[i]} != - ]] || break; done
    [[ ${fields[i + 1]:-} == cgroup && ${fields[3]} == / ]] || continue
    IFS=, read -r -a options <<< "${fields[i + 3]}"
    for option in "${options[@]}"; do
      [[ -n ${seen[$option]:-} ]] && continue
      seen[$option]=1
      echo "$option ${fields[4]}"
    done
  done < /proc/self/mountinfo
}

# signal_cgroup FREEZER_DIR SIGNAL [SPARE_PID [NS_PID]]: send SIGNAL to
# every process in the freezer cgroup FREEZER_DIR (and its sub-cgroups)
# except SPARE_PID; with NS_PID, only to those in NS_PID's PID namespace.
# The cgroup is frozen while its members are listed and signalled, so a
# process that forks at that moment cannot slip through; the signal arrives
# when it is thawed.
signal_cgroup() {
  local dir=$1 signal=$2 spare=${3:-} ns_pid=${4:-} state pid tries
  local -a pids=()
  echo FROZEN > "$dir/freezer.state"
  for (( tries = 0; tries < 1000; tries++ )); do
    read -r state < "$dir/freezer.state"
    [[ $state == FROZEN ]] && break
    pause 0.001
  done
  cgroup_pids "$dir"
  for pid in "${CGROUP_PIDS[@]}"; do
    [[ $pid != "$spare" ]] || continue
    [[ -z $ns_pid || /proc/$pid/ns/pid -ef /proc/$ns_pid/ns/pid ]] || continue
    pids+=("$pid")
  done
  if (( ${#pids[@]} > 0 )); then
    kill "-$signal" "${pids[@]}" 2>/dev/null || true
  fi
  echo THAWED > "$dir/freezer.state"
}

# cgroup_pids DIR: set CGROUP_PIDS to the processes of cgroup DIR and of
# every cgroup below it (nested containers make sub-cgroups).
cgroup_pids() {
  local file pid
  CGROUP_PIDS=()
  local -a files
  # globstar's ** also matches no directory at all: DIR/cgroup.procs is in.
  shopt -s nullglob globstar
  files=("$1"/**/cgroup.procs)
  shopt -u nullglob globstar
  for file in "${files[@]}"; do
    while read -r pid; do
      [[ -n $pid ]] && CGROUP_PIDS+=("$pid")
    done < "$file" 2>/dev/null || true
  done
}

# The device nodes a container's /dev holds: name, type, major, minor (all 0666).
WARDEN_DEVICES=("null c 1 3" "zero c 1 5" "full c 1 7" "random c 1 8" "urandom c 1 9"
                "tty c 5 0" "fuse c 10 229")

# make_devices DIR: the device nodes, pts/ and shm/, and the links of a
# container's /dev, in DIR.
make_devices() {
  local dir=$1 device name type major minor
  for device in "${WARDEN_DEVICES[@]}"; do
    read -r name type major minor <<< "$device"
    mknod -m 0666 "$dir/$name" "$type" "$major" "$minor"
  done
  mkdir -m 0755 "$dir/pts"
  mkdir -m 1777 "$dir/shm"
  ln -s pts/ptmx "$dir/ptmx"
  ln -s /proc/self/fd "$dir/fd"
  ln -s /proc/self/fd/0 "$dir/stdin"
  ln -s /proc/self/fd/1 "$dir/stdout"
  ln -s /proc/self/fd/2 "$dir/stderr"
}

# A made /dev for containers to copy: one cp at each start instead of a
# dozen mknod and ln. Made by setup.sh in the depot (a dot entry: recovery
# skips it); a container finds it next to its own directory.
DEV_TEMPLATE=.dev-template

# pause SECONDS: sleep without starting a process each time: read times out
# on a pipe nobody writes to (made once per script, by one subshell).
pause() {
  [[ -n ${PAUSE_FD:-} ]] || exec {PAUSE_FD}<> <(:)
  read -r -t "$1" -u "$PAUSE_FD" _ || true
}

# has_link NAME: whether this network namespace has a link NAME. /proc/net is
# the reading process's own namespace's (unlike /sys/class/net, which is the
# namespace of whoever mounted /sys); no process started.
has_link() {
  local name _
  while IFS=: read -r name _; do
    [[ ${name// /} == "$1" ]] && return 0
  done < /proc/net/dev
  return 1
}

# now_ms: set NOW_MS to wall-clock milliseconds (no process started).
now_ms() {
  local now=${EPOCHREALTIME/[.,]/}
  NOW_MS=$(( 10#$now / 1000 ))
}
