#!/bin/bash
# Start, on the host, before the namespaces exist: check what the start
# needs and clear what a failed earlier start may have left.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
# The container directory; BASH_SOURCE, not $0: start.sh sources the hooks
# (in a subshell: no bash to start).
if [[ ${BASH_SOURCE[0]} == */* ]]; then cd "${BASH_SOURCE[0]%/*}/.."; else cd ..; fi
source lib/common.sh
source etc/config
require_vars parent-before-clone rootfs_path container_init network_host_iface

check_rootfs() {
  [[ -d tmp/lower/ ]] || fail "parent-before-clone: rootfs" "rootfs $rootfs_path not found"
  [[ -d tmp/rootfs && -d tmp/work && -d mnt ]] \
    || fail "parent-before-clone: rootfs" "the writable layer is missing (run setup.sh)"
}

check_init() {
  [[ -x $container_init ]] || fail "parent-before-clone: init" "$container_init not found"
}

# A veth left by an interrupted start would make the new one fail.
remove_stale_veth() {
  if has_link "$network_host_iface"; then
    ip link delete dev "$network_host_iface"
  fi
}

check_rootfs
check_init
remove_stale_veth
