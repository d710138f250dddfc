#!/bin/bash
# Floor for destroy: the reverse of create.sh. Usage: destroy.sh DIR CGROUP_PARENT INDEX
set -o nounset -o errexit -o pipefail
[ -n "${DEBUG:-}" ] && set -o xtrace
dir=$1 parent=$2 index=$3
iptables -w -D FORWARD -i "fl-$index-0" -j ACCEPT
ip link delete "fl-$index-0"
read -r pid < "$dir/pid"
kill -KILL "$pid"
# Wait on the cgroup, not on pids: kill -0 succeeds on zombies.
procs=/sys/fs/cgroup/freezer/$parent/f$index/cgroup.procs
while [ -n "$(< "$procs")" ]; do sleep 0.001; done
for c in cpu cpuacct memory devices pids freezer; do
  rmdir "/sys/fs/cgroup/$c/$parent/f$index"
done
rm -rf "$dir"
