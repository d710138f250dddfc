#!/bin/bash
# Start, from the host, once the container's first process has pivoted into
# its root (PID, host pid): detach the old root from the container's mount
# namespace, and remove the link the init was executed through.
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
# The container directory; BASH_SOURCE, not $0: start.sh sources the hooks
# (in a subshell: no bash to start).
if [[ ${BASH_SOURCE[0]} == */* ]]; then cd "${BASH_SOURCE[0]%/*}/.."; else cd ..; fi
source lib/common.sh
source etc/config
require_vars child-after-pivot PID container_init

detach_old_root() {
  nsenter --target "$PID" --mount -- umount --lazy / \
    || fail "child-after-pivot: old root" "cannot detach the old root"
}

# container-init.sh execs the init through /dev/<init name> right after it
# reported the pivot; once the process carries that name, the link has
# served.
remove_init_link() {
  local name=${container_init##*/} comm="" tries
  name=${name:0:15}  # what the kernel keeps of a process name
  for (( tries = 0; tries < 5000; tries++ )); do
    read -r comm < "/proc/$PID/comm" || fail "child-after-pivot: init" "the init died"
    [[ $comm != "$name" ]] || break
    pause 0.001
  done
  [[ $comm == "$name" ]] || fail "child-after-pivot: init" "the init did not start"
  rm -f "/proc/$PID/root/dev/${container_init##*/}"
}

detach_old_root
remove_init_link
