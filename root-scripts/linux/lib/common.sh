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
cgroup_mounts() {
  awk '{
      for (i = 7; i <= NF && $i != "-"; i++) ;
      if ($(i + 1) != "cgroup" || $4 != "/") next
      n = split($(i + 3), opts, ",")
      for (j = 1; j <= n; j++) if (!(opts[j] in seen)) { seen[opts[j]] = 1; print opts[j], $5 }
    }' /proc/self/mountinfo
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
  for (( tries = 0; tries < 200; tries++ )); do
    read -r state < "$dir/freezer.state"
    [[ $state == FROZEN ]] && break
    sleep 0.005
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

# now_ms: set NOW_MS to wall-clock milliseconds (no process started).
now_ms() {
  local now=${EPOCHREALTIME/[.,]/}
  NOW_MS=$(( 10#$now / 1000 ))
}
