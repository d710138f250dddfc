#!/bin/bash
# Destroy a container directory (as root): run its own destroy.sh (network,
# processes, cgroups), then remove the directory.
#
#   ./destroy.sh PATH
#
# With DISK_SCRIPT and DISK_IMAGE (and DISK_MOUNT) set, the container's disk
# image goes too: `$DISK_SCRIPT destroy` runs meanwhile with the container's
# destroy.sh (the image may go while its last mount still holds it), and the
# directory is removed only after it (its loop devices are looked for by the
# image's name, and a mount it takes away would stop the removal).
#
# Fine on a directory that a failed create left half made, and on one that
# is already gone. A depot entry named tmp is not a container: left alone.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
[[ $0 != */* ]] || cd "${0%/*}"  # the script's own directory (no dirname process)
source lib/common.sh

(( $# == 1 )) || fail destroy "usage: $0 PATH"
target=$1
name=$target
while [[ $name == */ && $name != / ]]; do name=${name%/}; done
[[ ${name##*/} != tmp ]] || exit 0
[[ -d $target ]] || exit 0

disk=
if [[ -n ${DISK_SCRIPT:-} && -n ${DISK_IMAGE:-} ]]; then
  "$DISK_SCRIPT" destroy &
  disk=$!
fi

# The container's own destroy.sh, sourced in a subshell (a fork instead of a
# new bash) when it finds its directory by BASH_SOURCE; one that a skeleton
# before that copied in finds it by $0, and runs as a program.
if [[ -x $target/destroy.sh && -f $target/etc/config ]]; then
  IFS= read -r -d '' own < "$target/destroy.sh" || true
  if [[ $own == *'cd "${BASH_SOURCE[0]%/*}"'* ]]; then
    # shellcheck source=/dev/null  # the container's copy of skeleton/destroy.sh
    ( DESTROY_REMOVES_DIRECTORY=1; source "$target/destroy.sh" )
  else
    "$target/destroy.sh"
  fi
fi

if [[ -n $disk ]]; then
  wait "$disk" || fail destroy "disk.sh destroy failed"
fi

# --one-file-system: should anything still be mounted below the directory,
# it is an error, never something to delete through.
for _ in 1 2 3 4 5; do
  rm -rf --one-file-system -- "$target" 2>/dev/null && exit 0
  sleep 0.3
done
rm -rf --one-file-system -- "$target" || fail destroy "cannot remove $target"
