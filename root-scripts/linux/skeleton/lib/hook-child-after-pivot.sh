#!/bin/bash
# Start, from the host, once the container's first process has pivoted into
# its root (PID, host pid): detach the old root from the container's mount
# namespace.
#
# After `pivot_root . .` the old root is stacked on top of the new one; a
# process entering the mount namespace lands on the top of that stack, so
# the host's umount runs from the host's own root and detaches it. The
# container's processes (their root is the new root) never saw it, and
# nothing in the container needs an umount binary.
#
#   PID=1234 lib/hook-child-after-pivot.sh
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
cd "$(dirname "$0")/.."
source lib/common.sh
source etc/config
require_vars child-after-pivot PID

detach_old_root() {
  nsenter --target "$PID" --mount -- umount --lazy / \
    || fail "child-after-pivot: old root" "cannot detach the old root"
}

detach_old_root
