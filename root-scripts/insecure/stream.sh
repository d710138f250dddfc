#!/bin/bash
# stream.sh in|out CONTAINER_PATH PATH: the StreamIn and StreamOut extensions
# for an insecure container (its files live under CONTAINER_PATH/root).
#
#   in:  extract the tar stream on stdin under PATH (made if missing);
#   out: write a tar stream of PATH to stdout (PATH ending in "/": the
#        directory's contents, as ./...; otherwise PATH itself, by its name).
#
# PATH is a path in the container: "/" is CONTAINER_PATH/root. tar runs in a
# private mount namespace, chrooted into a jail: an empty tmpfs holding the
# container's root at /root, /dev/null and the host's /usr (and the /lib, /bin ...
# links or directories) read-only. So every name, and every symlink met on
# the way (one in the stream, or one a job planted in the container), is
# resolved inside the jail: nothing outside the container's root is written,
# and nothing outside it but the read-only system directories is read. Owners
# are not kept (files belong to whoever runs the server); permissions are.
# Without root, a user namespace maps the server's user to root in the jail.
set -o nounset -o errexit -o pipefail
[ -n "${DEBUG:-}" ] && set -o xtrace
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"

[ $# -eq 3 ] || fail "stream: usage: stream.sh in|out CONTAINER_PATH PATH"
direction=$1 path=$2 target=$3
[ -d "$path/root" ] || fail "stream: no container at $path"
case $direction in in | out) ;; *) fail "stream: direction must be in or out, got '$direction'" ;; esac
[ -n "$target" ] || fail "stream_$direction: the path is empty"

if [ -z "${STREAM_IN_NAMESPACE:-}" ]; then
  unshare=(unshare --mount --propagation private)
  [ "$(id -u)" = 0 ] || unshare+=(--user --map-root-user)
  STREAM_IN_NAMESPACE=1 exec "${unshare[@]}" -- "$0" "$@"
fi

jail=$path/tmp
mount -n -t tmpfs -o mode=0755,size=64k warden-stream "$jail"
mkdir "$jail/root" "$jail/usr" "$jail/dev"
touch "$jail/dev/null"
mount -n --bind /dev/null "$jail/dev/null"
mount -n --bind "$path/root" "$jail/root"
mount -n --bind -o ro /usr "$jail/usr"
for name in bin sbin lib lib32 lib64 libx32; do
  if [ -L "/$name" ]; then
    ln -s "usr/$name" "$jail/$name"
  elif [ -d "/$name" ]; then
    mkdir "$jail/$name"
    mount -n --bind -o ro "/$name" "$jail/$name"
  fi
done

# Nothing but the container's root is writable: a name that leads out of it
# (through a link) finds no place to write.
mount -n -o remount,ro,bind "$jail"

# The commands in the jail: "$1" is the path inside it.
# shellcheck disable=SC2016
case $direction in
  in)
    jailed='
      { mkdir -p -- "$1" && cd -- "$1"; } 2>/dev/null \
        || { echo "cannot create the directory $2 in the container (a file or a link out of it is in the way)" >&2; exit 1; }
      exec tar -x -p --no-same-owner -f -' ;;
  out)
    jailed='
      src=$1
      [ -e "$src" ] || [ -L "$src" ] || { echo "no such file or directory in the container: $2" >&2; exit 1; }
      case $src in
        */) exec tar -c -f - -C "$src" . ;;
        *) exec tar -c -f - -C "$(dirname -- "$src")" -- "$(basename -- "$src")" ;;
      esac' ;;
esac
exec chroot "$jail" /bin/bash -c "$jailed" "stream_$direction" "/root/${target#/}" "$target"
