#!/bin/bash
# Copy files into or out of a container (as root), with rsync -r -p --links
# semantics: a source ending in / copies the directory's contents, otherwise
# the file or directory itself; permissions and symlinks are kept, hard
# links become separate files.
#
#   ./copy.sh in  CONTAINER_PATH HOST_SRC CONTAINER_DST
#   ./copy.sh out CONTAINER_PATH CONTAINER_SRC HOST_DST [OWNER]
#
# The container's side is tar running INSIDE the container (its namespaces
# and root) as vcap: container paths, and any symlink or .. in them, are
# resolved by the container's kernel view, never the host's, and only
# where vcap may go. The host's side is GNU tar, which also refuses member
# names with .. and delays symlinks that point outside the archive when it
# extracts a stream the container made. That stream is the container's to
# forge (a privileged job may replace its tar, and vcap may set the
# set-user-ID bit on its own files), so the host's tar unpacks it as root
# without CAP_MKNOD (no device nodes) and without the archive's set-user-ID,
# set-group-ID and sticky bits (--no-same-permissions under umask 022:
# group and other lose write permission too). Files copied in belong to
# vcap; files copied out to root, or to OWNER (user[:group], chown -R).
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
root_scripts=${BASH_SOURCE[0]%/*}
source "$root_scripts/lib/common.sh"
source "$root_scripts/lib/enter.sh"
umask 022

(( $# >= 4 && $# <= 5 )) || fail copy "usage: $0 in|out CONTAINER_PATH SRC DST [OWNER]"
direction=$1 container=$2 src=$3 dst=$4 owner=${5:-}
[[ $direction == in || $direction == out ]] || fail copy "direction must be in or out: $direction"
[[ -n $src && -n $dst ]] || fail copy "source and destination must not be empty"
[[ -f $container/etc/config ]] || fail copy "no container at $container"
source "$container/etc/config"
require_vars copy id user_uid cgroup_parent
container_user vcap
check_init
enter_argv

# in_container CMD...: run CMD inside the container as vcap, in its cgroups
# (warden-exec: no capabilities, no_new_privs, the seccomp filter).
in_container() {
  "${ENTER_ARGV[@]}" -- "$@"
}

# What a path is, for the rsync rules: "dir", "other" or "missing". A
# symlink is "other" (copied as a link) unless the path ends in a slash.
readonly KIND='if [[ -L $1 && $1 != */ ]]; then echo other; elif [[ -d $1 ]]; then echo dir;
  elif [[ -e $1 ]]; then echo other; else echo missing; fi'

# kind_in_container PATH: the kind of PATH as vcap sees it in the container.
kind_in_container() {
  in_container /bin/bash -c "$KIND" kind "$1"
}

eval "kind_on_host() { $KIND; }"

# The helpers below set variables rather than print: a command substitution
# would drop the trailing newlines of a name that ends with some.

# escaped NAME: set ESCAPED to NAME escaped for the replacement part of a
# tar --transform s///.
escaped() {
  local text=${1//\\/\\\\}
  text=${text//&/\\&}
  ESCAPED=${text//\//\\/}
}

# trimmed PATH: set TRIMMED to PATH without trailing slashes (but / stays /).
trimmed() {
  TRIMMED=$1
  while [[ $TRIMMED == */ && $TRIMMED != / ]]; do TRIMMED=${TRIMMED%/}; done
}

# parent_of PATH: set PARENT to the directory PATH is in.
parent_of() {
  trimmed "$1"
  if [[ $TRIMMED == */* ]]; then
    PARENT=${TRIMMED%/*}
    PARENT=${PARENT:-/}
  else
    PARENT=.
  fi
}

# name_of PATH: set NAME to the last component of PATH.
name_of() {
  trimmed "$1"
  NAME=${TRIMMED##*/}
}

# plan SRC_KIND DST_KIND: decide from the rsync rules where the stream is
# unpacked (EXTRACT_DIR), whether DST must be created first (MAKE_DST), and
# how member names change (TRANSFORM), given the kinds of SRC and DST.
# The stream holds either the contents of SRC (members ./...) or SRC itself
# (members NAME...).
plan() {
  local src_kind=$1 dst_kind=$2
  CONTENTS=false MAKE_DST=false TRANSFORM=()
  [[ $src == */ && $src_kind == dir ]] && CONTENTS=true
  if [[ $dst_kind == dir ]]; then
    EXTRACT_DIR=$dst
  elif [[ $src_kind == dir || $dst == */ ]]; then
    # rsync creates the destination directory (its last component only).
    [[ $dst_kind == missing ]] || fail copy "destination exists and is not a directory: $dst"
    EXTRACT_DIR=$dst MAKE_DST=true
  else
    # A single file (or symlink) to a path that is not a directory: the copy
    # takes the destination's name.
    parent_of "$dst"; name_of "$dst"; escaped "$NAME"
    EXTRACT_DIR=$PARENT
    TRANSFORM=("--transform=s/.*/$ESCAPED/S")
  fi
  if [[ $CONTENTS == true ]]; then
    PACK_DIR=$src PACK_NAME=.
  else
    parent_of "$src"; name_of "$src"
    PACK_DIR=$PARENT PACK_NAME=$NAME
  fi
}

# In the container, tar as vcap unpacks where rsync would have put things
# (-p: permissions as in the archive, -m: modification time now).
copy_in() {
  local src_kind dst_kind
  src_kind=$(kind_on_host "$src")
  [[ $src_kind != missing ]] || fail "copy in" "no such file or directory: $src"
  dst_kind=$(kind_in_container "$dst")
  plan "$src_kind" "$dst_kind"
  if [[ $MAKE_DST == true ]]; then
    # tar creates the directory from a first member named after it.
    name_of "$dst"; escaped "$NAME"; parent_of "$dst"
    TRANSFORM=("--transform=s/^/$ESCAPED\\//S")
    [[ $CONTENTS == true ]] && TRANSFORM=("--transform=s/^\\.\\//$ESCAPED\\//S")
    EXTRACT_DIR=$PARENT
  fi
  tar -c -f - --hard-dereference "${TRANSFORM[@]}" -C "$PACK_DIR" -- "$PACK_NAME" \
    | in_container tar -x -p -m -f - -C "$EXTRACT_DIR"
}

# In the container, tar as vcap packs; on the host, tar as root unpacks,
# owned by root (--no-same-owner) until OWNER is applied, with no device
# nodes and no set-user-ID bits whatever the stream says (see the top).
copy_out() {
  local src_kind dst_kind
  src_kind=$(kind_in_container "$src")
  [[ $src_kind != missing ]] || fail "copy out" "no such file or directory in the container: $src"
  dst_kind=$(kind_on_host "$dst")
  plan "$src_kind" "$dst_kind"
  if [[ $MAKE_DST == true ]]; then
    mkdir -- "$dst" || fail "copy out" "cannot create $dst"
  fi
  in_container tar -c -f - --hard-dereference -C "$PACK_DIR" -- "$PACK_NAME" \
    | setpriv --bounding-set=-mknod -- \
      tar -x --no-same-permissions -m --no-same-owner -f - "${TRANSFORM[@]}" -C "$EXTRACT_DIR"
  if [[ -n $owner ]]; then
    chown -R -h -- "$owner" "$dst" || fail "copy out" "cannot chown $dst to $owner"
  fi
}

"copy_$direction"
