#!/bin/bash
# Floor for destroy: the reverse of create.sh. Usage: destroy.sh DIR CGROUP_PARENT INDEX
set -o nounset -o errexit -o pipefail
[ -n "${DEBUG:-}" ] && set -o xtrace
dir=$1 parent=$2 index=$3
iptables -w -D FORWARD -i "fl-$index-0" -j ACCEPT
read -r pid < "$dir/pid"
kill -KILL "$pid"
# Wait on the cgroup, not on pids: an orphaned parent can linger as a zombie
# until the host's init reaps it, and kill -0 succeeds on zombies.
procs=/sys/fs/cgroup/pids/$parent/f$index/cgroup.procs
while [ -n "$(< "$procs")" ]; do sleep 0.001; done
for c in cpu cpuacct memory pids; do
  rmdir "/sys/fs/cgroup/$c/$parent/f$index"
done
rm -rf "$dir"
