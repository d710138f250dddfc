#!/bin/bash
# crun as a reference for destroy: the reverse of create.sh (crun kills the
# container and removes its cgroups; the veth goes with its namespace).
# Usage: destroy.sh DIR STATE_ROOT INDEX
set -o nounset -o errexit -o pipefail
dir=$1 state=$2 index=$3
crun --root "$state" delete --force "k$index"
umount "$dir/rootfs"
rm -rf "$dir"
