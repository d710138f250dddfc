#!/bin/bash
# Start, on the host, before the namespaces exist: check what the start
# needs.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
# The container directory; BASH_SOURCE, not $0: start.sh sources the hooks
# (in a subshell: no bash to start).
if [[ ${BASH_SOURCE[0]} == */* ]]; then cd "${BASH_SOURCE[0]%/*}/.."; else cd ..; fi
source lib/common.sh
source etc/config
require_vars parent-before-clone rootfs_path container_init

check_rootfs() {
  [[ -d tmp/lower/ ]] || fail "parent-before-clone: rootfs" "rootfs $rootfs_path not found"
  [[ -d tmp/rootfs && -d tmp/work && -d mnt ]] \
    || fail "parent-before-clone: rootfs" "the writable layer is missing (run setup.sh)"
}

check_init() {
  [[ -x $container_init ]] || fail "parent-before-clone: init" "$container_init not found"
}

# A veth left by an interrupted start is removed by warden-start, when
# making the pair finds its name taken: not looked for here before each
# start (the lookup in /proc/sys/net grows with the host's namespaces).
check_rootfs
check_init
