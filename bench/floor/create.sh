#!/bin/bash
# Floor for create: the kernel work of a container done directly with system
# tools, no warden. Usage: create.sh DIR ROOTFS CGROUP_PARENT INDEX
# Leaves: an overlay root mounted in a new mount namespace, five namespaces
# held by a sleeping PID 1 (the only process left, as warden's init), its
# cgroup dirs, a veth pair with addresses and a default route, one rule.
set -o nounset -o errexit -o pipefail
[ -n "${DEBUG:-}" ] && set -o xtrace
dir=$1 rootfs=$2 parent=$3 index=$4
mkdir -p "$dir/upper" "$dir/work" "$dir/mnt"
mkfifo "$dir/ready"
unshare --mount --uts --ipc --net --pid --fork --propagation private \
  bash -c 'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$2/mnt"
           read -r pid _ < /proc/self/stat; echo "$pid" > "$2/ready"; exec sleep infinity' \
  floor "$rootfs" "$dir" 2>/dev/null &
unshare_pid=$!
read -r pid < "$dir/ready"
echo "$pid" > "$dir/pid"
for c in cpu cpuacct memory devices pids freezer; do
  mkdir "/sys/fs/cgroup/$c/$parent/f$index"
  echo "$pid" > "/sys/fs/cgroup/$c/$parent/f$index/cgroup.procs"
done
host=10.253.$((index / 64)).$(((index % 64) * 4 + 1))
inner=10.253.$((index / 64)).$(((index % 64) * 4 + 2))
ip link add "fl-$index-0" type veth peer name "fl-$index-1" netns "$pid"
ip addr add "$host/30" dev "fl-$index-0"
ip link set "fl-$index-0" up
nsenter -t "$pid" -n ip addr add "$inner/30" dev "fl-$index-1"
nsenter -t "$pid" -n ip link set "fl-$index-1" up
nsenter -t "$pid" -n ip route add default via "$host"
iptables -w -A FORWARD -i "fl-$index-0" -j ACCEPT
# Only the PID 1 stays, a child of the host's init (disowned: no job report).
disown "$unshare_pid"
kill -KILL "$unshare_pid"
