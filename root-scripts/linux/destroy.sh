#!/bin/bash
# Destroy a container directory (as root): run its own destroy.sh (network,
# processes, cgroups), then remove the directory.
#
#   ./destroy.sh PATH
#
# Prints "torn-down" once the container's processes are dead and its veth
# is gone (the container's destroy.sh says when; after it, for one that does
# not): the server answers Destroy there, and waits for this script's end
# before the container's subnet, ports and uid go back to its pools. The
# server moves the directory into the depot's .trash first, so that what
# follows the answer (the firewall, the cgroups, the disk layer, the files)
# is out of the depot; its next start destroys whatever .trash still holds.
#
# With DISK_SCRIPT and DISK_IMAGE (and DISK_MOUNT) set, the container's disk
# image goes too: `$DISK_SCRIPT destroy`, sourced in a subshell, once the
# processes are dead, and before the directory (its loop devices are looked
# for by the image's name, and a mount it takes away would stop the removal).
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

torn_down=
# The container's destroy.sh calls this (sourced) once its processes are
# dead and its veth gone. With DESTROY_TAIL_WAITS_FOR_STDIN, what follows
# then waits for stdin's EOF: the server closes it once no destroy of its
# own is before its answer, so that in a burst the answers do not wait
# behind other destroys' tails (a dead server closes it too). At most 10 s.
destroy_torn_down() {
  printf 'torn-down\n'
  if [[ -n ${DESTROY_TAIL_WAITS_FOR_STDIN:-} ]]; then
    read -r -t 10 _ || true
  fi
}

# The container's own destroy.sh, sourced in a subshell (a fork instead of a
# new bash) when it finds its directory by BASH_SOURCE; one that a skeleton
# before that copied in finds it by $0, and runs as a program.
if [[ -x $target/destroy.sh && -f $target/etc/config ]]; then
  IFS= read -r -d '' own < "$target/destroy.sh" || true
  if [[ $own == *'cd "${BASH_SOURCE[0]%/*}"'* ]]; then
    [[ $own != *destroy_torn_down* ]] || torn_down=1
    # shellcheck source=/dev/null  # the container's copy of skeleton/destroy.sh
    ( DESTROY_REMOVES_DIRECTORY=1; source "$target/destroy.sh" )
  else
    "$target/destroy.sh"
  fi
fi
[[ -n $torn_down ]] || destroy_torn_down

if [[ -n ${DISK_SCRIPT:-} && -n ${DISK_IMAGE:-} ]]; then
  # A background job waited for: errexit stays on inside it (a subshell
  # tested with || would run with it off).
  # The image goes with the directory below (one rm fewer).
  # shellcheck source=disk.sh
  ( DISK_REMOVED_WITH=$target; source "$DISK_SCRIPT" destroy ) &
  wait "$!" || fail destroy "disk.sh destroy failed"
fi

# --one-file-system: should anything still be mounted below the directory,
# it is an error, never something to delete through.
for _ in 1 2 3 4 5; do
  rm -rf --one-file-system -- "$target" 2>/dev/null && exit 0
  sleep 0.3
done
rm -rf --one-file-system -- "$target" || fail destroy "cannot remove $target"
