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
#
# Host paths may hold symlinks that container data put there (an earlier
# copy out keeps links as links: d -> /etc). So the host's side never
# follows a symlink: the host directory a copy reads from or writes into is
# opened once and refused if reaching it went through a symlink (its real
# path must be the path as given, made absolute), and a copy out unpacks,
# creates and chowns inside a chroot whose root holds only that directory
# (bind-mounted from the opened descriptor) and the host's /usr (and /etc
# for OWNER) read-only, in a mount namespace of its own: a symlink in the destination
# tree, old or just unpacked, resolves inside that root, so nothing outside
# the destination is ever written, whatever the stream says and whatever
# changes meanwhile.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
root_scripts=${BASH_SOURCE[0]%/*}
source "$root_scripts/lib/common.sh"
source "$root_scripts/lib/enter.sh"
umask 022

# A copy out runs in a private mount namespace (its mounts go when it exits).
if [[ ${1:-} == out && -z ${COPY_IN_NAMESPACE:-} ]]; then
  COPY_IN_NAMESPACE=1 exec unshare --mount --propagation private -- "$0" "$@"
fi

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

# normalised PATH: set NORMAL to PATH made absolute (from the working
# directory) with ".", ".." and repeated slashes resolved by name alone.
normalised() {
  local rest=$1 part out=""
  [[ $rest == /* ]] || rest=$PWD/$rest
  while [[ -n $rest ]]; do
    part=${rest%%/*}
    if [[ $rest == */* ]]; then rest=${rest#*/}; else rest=""; fi
    case $part in
      "" | .) ;;
      ..) out=${out%/*} ;;
      *) out+=/$part ;;
    esac
  done
  NORMAL=${out:-/}
}

# open_host_dir STEP PATH: open the host directory PATH as fd HOST_DIR_FD,
# refusing it unless its real path is PATH's name (no symlink on the way).
# Checked on the opened descriptor, so nothing can swap a component after.
open_host_dir() {
  local step=$1 path=$2 real
  normalised "$path"
  exec {HOST_DIR_FD}< "$NORMAL" || fail "$step" "cannot open the directory $path"
  # (the x keeps the trailing newlines of a name that ends with some)
  real=$(readlink "/proc/self/fd/$HOST_DIR_FD" && echo x) real=${real%$'\nx'}
  [[ $real == "$NORMAL" ]] \
    || fail "$step" "$path leads through a symbolic link (to $real): symbolic links on the host are not followed, give the real path"
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
  open_host_dir "copy in" "$PACK_DIR"
  tar -c -f - --no-unquote --hard-dereference "${TRANSFORM[@]}" -C "/proc/self/fd/$HOST_DIR_FD" \
    -- "$PACK_NAME" | in_container tar -x -p -m -f - -C "$EXTRACT_DIR"
}

# in_host_jail DIR_FD CMD...: run CMD as root chrooted into a new root that
# holds the opened host directory DIR_FD at /dst and the host's /usr (and
# /etc when OWNER names a user or group) read-only, nothing else. Mounted
# over the container's tmp/ in this script's private mount namespace. Few
# programs: each costs an exec on every copy out.
in_host_jail() {
  local fd=$1 jail=$container/tmp name
  local -a system=(usr) links=()
  shift
  [[ -z $owner ]] || system+=(etc)
  # Merged /usr (Debian 12 and later): /bin, /lib ... are links into usr/.
  for name in bin sbin lib lib32 lib64 libx32; do
    if [[ -L /$name ]]; then
      links+=("usr/$name")
      [[ /$name -ef /usr/$name ]] || fail "copy out" "/$name is a link, but not to /usr/$name"
    elif [[ -d /$name ]]; then
      system+=("$name")
    fi
  done
  mount -n -t tmpfs -o mode=0755,size=64k warden-copy "$jail"
  mkdir "$jail/dst" "${system[@]/#/$jail/}"
  (( ${#links[@]} == 0 )) || ln -s "${links[@]}" "$jail/"
  mount -n --bind "/proc/self/fd/$fd" "$jail/dst"
  for name in "${system[@]}"; do
    mount -n --bind -o ro "/$name" "$jail/$name"
  done
  chroot "$jail" "$@"
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
  # Inside the jail: the directory opened (dst's parent when dst is to be
  # made, or is a file) is /dst; where to unpack, and what OWNER gets.
  local opened=$EXTRACT_DIR target=/dst chowned=/dst
  if [[ $MAKE_DST == true || $EXTRACT_DIR != "$dst" ]]; then
    parent_of "$dst"; name_of "$dst"
    opened=$PARENT chowned=/dst/$NAME
    [[ $MAKE_DST == true ]] && target=/dst/$NAME
  fi
  open_host_dir "copy out" "$opened"
  # The jail's commands: make dst's directory if needed, then unpack the
  # stream on stdin (the host's tar, without CAP_MKNOD), then chown.
  local jailed='
    set -o errexit
    target=$1 chowned=$2 owner=$3 make=$4 dst=$5
    shift 5
    if [[ $make == true ]]; then
      mkdir -- "$target" || { echo "copy out: cannot create $dst" >&2; exit 1; }
    fi
    setpriv --bounding-set=-mknod -- \
      tar -x --no-same-permissions -m --no-same-owner -f - "$@" -C "$target"
    if [[ -n $owner ]]; then
      chown -R -h -- "$owner" "$chowned" \
        || { echo "copy out: cannot chown $dst to $owner" >&2; exit 1; }
    fi'
  local -a unpack=(setpriv --bounding-set=-mknod -- tar -x --no-same-permissions -m
    --no-same-owner -f - "${TRANSFORM[@]}" -C "$target")
  if [[ $MAKE_DST == true || -n $owner ]]; then
    unpack=(/bin/bash -c "$jailed" jailed "$target" "$chowned" "$owner" "$MAKE_DST" "$dst"
      "${TRANSFORM[@]}")
  fi
  in_container tar -c -f - --no-unquote --hard-dereference -C "$PACK_DIR" -- "$PACK_NAME" \
    | in_host_jail "$HOST_DIR_FD" "${unpack[@]}"
}

"copy_$direction"
