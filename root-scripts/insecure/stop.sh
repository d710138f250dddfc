#!/bin/bash
# stop.sh CONTAINER_PATH [-w SECONDS]: stop every process of an insecure container.
#
# Sends TERM to every process of the container's job sessions, waits up to
# SECONDS (default 10) for them to exit, then sends KILL. -w 0 sends KILL at
# once. The job wrappers (session leaders) are left alone: they record each
# job's exit status when it dies, then exit.
set -o nounset -o errexit -o pipefail
[ -n "${DEBUG:-}" ] && set -o xtrace
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"

path=${1:-}
[ -n "$path" ] || fail "stop: usage: stop.sh CONTAINER_PATH [-w SECONDS]"
shift
wait_seconds=10
while getopts ":w:" opt; do
  case $opt in
    w) wait_seconds=$OPTARG ;;
    *) ;;  # unknown options are ignored, as the original's stop.sh did
  esac
done
[[ $wait_seconds =~ ^[0-9]+$ ]] || fail "stop: -w needs whole seconds, got '$wait_seconds'"
[ -d "$path" ] || fail "stop: no container at $path"

signal=TERM
[ "$wait_seconds" -gt 0 ] || signal=KILL
term_deadline=$(( $(now_us) + wait_seconds * 1000000 ))
kill_deadline=$(( term_deadline + 10 * 1000000 ))
declare -A signalled=()

while :; do
  pids=$(container_pids "$path")
  [ -n "$pids" ] || exit 0
  now=$(now_us)
  if [ "$signal" = TERM ] && (( now >= term_deadline )); then
    signal=KILL
    signalled=()
  fi
  if [ "$signal" = KILL ] && (( now >= kill_deadline )); then
    fail "stop: processes survive SIGKILL: ${pids//$'\n'/ }"
  fi
  for pid in $pids; do
    # TERM each process once; KILL every round (new children may appear).
    if [ "$signal" = KILL ] || [ -z "${signalled[$pid]:-}" ]; then
      kill -"$signal" "$pid" 2>/dev/null || true
      signalled[$pid]=1
    fi
  done
  sleep 0.05
done
