#!/bin/bash
# Create a container directory from the skeleton (as root).
#
#   id=abc network_host_ip=10.254.0.1 network_container_ip=10.254.0.2 \
#   user_uid=10000 rootfs_path=/var/lib/warden/rootfs cgroup_parent=warden \
#   ./create.sh /var/lib/warden/containers/abc
#
# Copies skeleton/ (and lib/common.sh) to PATH, then runs PATH/setup.sh with
# this environment, which writes PATH/etc/config and the container's
# writable layer (see skeleton/setup.sh for every variable). Prints PATH.
# Nothing is mounted and nothing runs yet: PATH/start.sh does that.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
[[ $0 != */* ]] || cd "${0%/*}"  # the script's own directory (no dirname process)
source lib/common.sh

(( $# == 1 )) || fail create "usage: $0 PATH"
target=$1
[[ ! -e $target ]] || fail create "\"$target\" already exists, aborting..."

cp -a skeleton "$target" || fail create "cannot copy the skeleton to $target"
# lib/common.sh copied by bash (no cp): read whole, written as it was.
IFS= read -r -d '' common < lib/common.sh || true
printf '%s' "$common" > "$target/lib/common.sh"
# start.sh's helper, by its path in these root scripts. setup.sh is sourced
# in a subshell (it keeps its own options, directory and variables there):
# a fork instead of a new bash.
(
  warden_start=$PWD/bin/warden-start
  source "$target/setup.sh"
)
echo "$target"
