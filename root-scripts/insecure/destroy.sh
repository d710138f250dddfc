#!/bin/bash
# destroy.sh CONTAINER_PATH: KILL every process of an insecure container, job
# wrappers included, and remove its directory. A missing directory is fine.
set -o nounset -o errexit -o pipefail
[ -n "${DEBUG:-}" ] && set -o xtrace
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"

path=${1:-}
[ -n "$path" ] || fail "destroy: usage: destroy.sh CONTAINER_PATH"
[ -d "$path" ] || exit 0

deadline=$(( $(now_us) + 10 * 1000000 ))
while :; do
  pids=$(container_pids "$path" all)
  [ -n "$pids" ] || break
  (( $(now_us) < deadline )) || fail "destroy: processes survive SIGKILL: ${pids//$'\n'/ }"
  # shellcheck disable=SC2086 # one argument per pid
  kill -KILL $pids 2>/dev/null || true
  sleep 0.05
done

# A process that was just killed may still hold a file open: retry a few times.
for _ in 1 2 3 4 5; do
  rm -rf -- "$path" 2>/dev/null && exit 0
  sleep 0.3
done
rm -rf -- "$path" || fail "destroy: cannot remove $path"
