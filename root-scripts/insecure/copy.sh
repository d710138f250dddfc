#!/bin/bash
# copy.sh in|out CONTAINER_PATH SRC DST [OWNER]: copy files into or out of an
# insecure container (whose files live under CONTAINER_PATH/root).
#
# The original's rsync semantics (-r -p --links), done with tar:
#   - SRC ending in "/" copies the directory's contents into DST; a directory
#     SRC without it is copied as DST/<name>; a file SRC goes to DST, or into
#     DST when DST is a directory or ends in "/";
#   - permissions are kept, symlinks stay symlinks, hard links become separate
#     files, owners are not kept (files belong to whoever runs the server),
#     modification times are not kept;
#   - copy out with OWNER (user:group) then runs chown -R OWNER DST.
set -o nounset -o errexit -o pipefail
[ -n "${DEBUG:-}" ] && set -o xtrace
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"

[ $# -ge 4 ] || fail "copy: usage: copy.sh in|out CONTAINER_PATH SRC DST [OWNER]"
direction=$1 path=$2 src=$3 dst=$4 owner=${5:-}
[ -d "$path/root" ] || fail "copy: no container at $path"
# Names are taken as they are: no command substitution below, as it would
# drop a name's trailing newlines.
case $direction in
  in) from=$src to=$path/root/${dst#/} ;;
  out) from=$path/root/${src#/} to=$dst ;;
  *) fail "copy: direction must be in or out, got '$direction'" ;;
esac

[ -e "$from" ] || [ -L "$from" ] || fail "copy: $src does not exist"

tar_pipe() {  # tar_pipe DIR NAME TARGET_DIR: copy DIR/NAME into TARGET_DIR
  tar --create --file=- --hard-dereference --directory="$1" -- "$2" \
    | tar --extract --file=- --directory="$3" --no-same-owner --preserve-permissions --touch
}

if [ -d "$from" ] && [ ! -L "$from" ]; then
  mkdir -p -- "$to" || fail "copy: cannot make $dst"
  if [[ $from == */ ]]; then
    tar_pipe "$from" . "$to" || fail "copy: copying $src to $dst failed"
  else
    parent=. name=$from
    if [[ $from == */* ]]; then
      parent=${from%/*} name=${from##*/}
    fi
    tar_pipe "${parent:-/}" "$name" "$to" || fail "copy: copying $src to $dst failed"
  fi
else
  if [[ $to == */ ]]; then
    mkdir -p -- "$to" || fail "copy: cannot make $dst"
  fi
  cp --no-dereference --preserve=mode -- "$from" "$to" || fail "copy: copying $src to $dst failed"
fi

if [ "$direction" = out ] && [ -n "$owner" ]; then
  chown -R -- "$owner" "$dst" || fail "copy: chown $owner $dst failed"
fi
