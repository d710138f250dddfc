#!/bin/bash
# crun as a reference for create: an overlay root over the same rootfs, an OCI
# container started by crun (five namespaces, its cgroups, a sleeping PID 1),
# and a veth pair with a /30, addresses and a default route.
# Usage: create.sh DIR ROOTFS TEMPLATE STATE_ROOT CGROUP_PATH INDEX
set -o nounset -o errexit -o pipefail
dir=$1 rootfs=$2 template=$3 state=$4 cgroup=$5 index=$6
mkdir -p "$dir/upper" "$dir/work" "$dir/rootfs"
mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$dir/upper,workdir=$dir/work" "$dir/rootfs"
sed "s|@CGROUP@|$cgroup|" "$template" > "$dir/config.json"
# The container inherits stdio from crun: keep it off the caller's pipes.
crun --root "$state" run --detach --bundle "$dir" --pid-file "$dir/pid" "k$index" \
  </dev/null >/dev/null 2>"$dir/crun.log" || { cat "$dir/crun.log" >&2; exit 1; }
read -r pid < "$dir/pid" || [ -n "$pid" ]  # crun writes no newline
host=10.252.$((index / 64)).$(((index % 64) * 4 + 1))
inner=10.252.$((index / 64)).$(((index % 64) * 4 + 2))
ip link add "kr-$index-0" type veth peer name "kr-$index-1" netns "$pid"
ip addr add "$host/30" dev "kr-$index-0"
ip link set "kr-$index-0" up
nsenter -t "$pid" -n ip addr add "$inner/30" dev "kr-$index-1"
nsenter -t "$pid" -n ip link set "kr-$index-1" up
nsenter -t "$pid" -n ip route add default via "$host"
