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

# The container's cgroups come from the server (its Python code is the one
# description of the layout, see warden-server's warden.server.linux.cgroups package): create.sh
# gets them in its environment and skeleton/setup.sh writes them into
# etc/config:
#   cgroup_version        1 or 2
#   cgroup_dir            the main directory: v1's freezer cgroup, v2's only one
#   cgroup_dirs           every directory (made, joined, removed), an array
#   cgroup_devices        v1's devices cgroup (empty on v2: an eBPF program there)
#   cgroup_devices_allow  v1's devices.allow lines, an array
#   cgroup_member         CONTROLLER:/PATH a member shows in /proc/PID/cgroup
# cgroup_config_defaults fills them in for a container directory made before
# they existed (cgroup v1, the freezer cgroup as cgroup_freezer).
cgroup_config_defaults() {
  cgroup_version=${cgroup_version:-1}
  cgroup_dir=${cgroup_dir:-${cgroup_freezer:-}}
  cgroup_member=${cgroup_member:-freezer:/${cgroup_parent:-}/instance-${id:-}}
}

# freeze_cgroup DIR / thaw_cgroup DIR: freeze (and wait until it is frozen,
# at most a second) or thaw cgroup DIR and everything below it.
freeze_cgroup() {
  local dir=$1 state tries key value
  for (( tries = 0; tries < 1000; tries++ )); do
    if [[ ${cgroup_version:-1} == 2 ]]; then
      (( tries > 0 )) || echo 1 > "$dir/cgroup.freeze"
      state=""
      while read -r key value; do
        [[ $key == frozen ]] && state=$value
      done < "$dir/cgroup.events"
      [[ $state == 1 ]] && return 0
    else
      (( tries > 0 )) || echo FROZEN > "$dir/freezer.state"
      read -r state < "$dir/freezer.state"
      [[ $state == FROZEN ]] && return 0
    fi
    pause 0.001
  done
}

thaw_cgroup() {
  if [[ ${cgroup_version:-1} == 2 ]]; then
    echo 0 > "$1/cgroup.freeze"
  else
    echo THAWED > "$1/freezer.state"
  fi
}

# signal_cgroup DIR SIGNAL [SPARE_PID [NS_PID]]: send SIGNAL to every
# process in cgroup DIR (and its sub-cgroups) except SPARE_PID; with NS_PID,
# only to those in NS_PID's PID namespace. The cgroup is frozen while its
# members are listed and signalled, so a process that forks at that moment
# cannot slip through; the signal arrives when it is thawed. KILL to all
# of a v2 cgroup is one write to cgroup.kill where the kernel has it.
signal_cgroup() {
  local dir=$1 signal=$2 spare=${3:-} ns_pid=${4:-} pid
  local -a pids=()
  if [[ ${cgroup_version:-1} == 2 && $signal == KILL && -z $spare && -e $dir/cgroup.kill ]]; then
    echo 1 > "$dir/cgroup.kill"
    return 0
  fi
  freeze_cgroup "$dir"
  cgroup_pids "$dir"
  for pid in "${CGROUP_PIDS[@]}"; do
    [[ $pid != "$spare" ]] || continue
    [[ -z $ns_pid || /proc/$pid/ns/pid -ef /proc/$ns_pid/ns/pid ]] || continue
    pids+=("$pid")
  done
  if (( ${#pids[@]} > 0 )); then
    kill "-$signal" "${pids[@]}" 2>/dev/null || true
  fi
  thaw_cgroup "$dir"
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

# has_link NAME: whether this network namespace has a link NAME, in one
# lookup whatever the number of links, no process started. /proc/sys/net
# shows the reading process's own namespace (/sys/class/net the namespace of
# whoever mounted /sys), and every link has an IPv4 conf there (warden's MTUs
# are 68 or more). Not /proc/net/dev: it lists every link, and bash's read
# seeks back to the end of each line it reads, which makes the kernel list
# the links again up to there: seconds with 2,000 links.
has_link() {
  [[ -d /proc/sys/net/ipv4/conf/$1 ]]
}

# now_ms: set NOW_MS to wall-clock milliseconds (no process started).
now_ms() {
  local now=${EPOCHREALTIME/[.,]/}
  NOW_MS=$(( 10#$now / 1000 ))
}
