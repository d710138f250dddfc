#!/bin/bash
# The container's first process: PID 1 of its new PID namespace, started by
# start.sh through unshare. stdin and stdout are pipes to start.sh.
#
#   1. report its host pid, wait for "go" (start.sh has set up the cgroups
#      and the veth);
#   2. hook-child-before-pivot.sh builds the root at mnt/;
#   3. pivot_root into it, report "pivoted" (start.sh then detaches the old
#      root from the host side);
#   4. exec the host's static init as PID 1, `-P`: reap orphans, run
#      nothing, live until killed. After the pivot only the container's files
#      are reachable, so the init is opened before it (fd 9) and executed
#      through /dev/<init name>, a symlink to /proc/self/fd/9 that gives the
#      process its name; hook-child-after-pivot.sh removes the link.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
if [[ $0 == */* ]]; then cd "${0%/*}/.."; else cd ..; fi  # the container directory
source lib/common.sh
source etc/config
require_vars container-init container_init

# /proc is still the host's here, so /proc/self/stat gives the host pid.
read -r host_pid _ < /proc/self/stat
echo "$host_pid"
read -r -t 30 go || go=""
[[ $go == go ]] || fail "container-init" "no go from start.sh"

( source ./lib/hook-child-before-pivot.sh )

exec 9< "$container_init"
init_name=${container_init##*/}
ln -s /proc/self/fd/9 "mnt/dev/$init_name"
cd mnt
pivot_root . . || fail "container-init: pivot_root" "cannot pivot into the container's root"
cd /
echo pivoted
# -c: an empty environment (nothing of the server's reaches the container).
exec -c -a "$init_name" "/dev/$init_name" -P < /dev/null > /dev/null 2>&1
