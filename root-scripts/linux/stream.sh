#!/bin/bash
# stream.sh in|out CONTAINER_PATH PATH: the StreamIn and StreamOut extensions.
#
#   in:  extract the tar stream on stdin under PATH (made if missing);
#   out: write a tar stream of PATH to stdout (PATH ending in "/": the
#        directory's contents, as ./...; otherwise PATH itself, by its name).
#
# tar runs INSIDE the container (warden-exec: its namespaces, root and
# cgroups) as vcap, with no capabilities: PATH and every symlink met on the
# way, one in the stream or one a job planted, resolve in the container's
# own view (a link to /etc is the container's /etc), only where vcap may go,
# and what it writes lands in the container's writable layer as vcap, under
# its disk limit. Relative paths are from vcap's home. The stream is never
# unpacked on the host.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
root_scripts=${BASH_SOURCE[0]%/*}
source "$root_scripts/lib/common.sh"
source "$root_scripts/lib/enter.sh"

(( $# == 3 )) || fail stream "usage: $0 in|out CONTAINER_PATH PATH"
direction=$1 container=$2 target=$3
[[ $direction == in || $direction == out ]] || fail stream "direction must be in or out: $direction"
[[ -n $target ]] || fail "stream_$direction" "the path is empty"
[[ -f $container/etc/config ]] || fail stream "no container at $container"
source "$container/etc/config"
require_vars stream id user_uid cgroup_parent
container_user vcap
check_init
enter_argv

# The commands in the container: "$1" is the path.
# shellcheck disable=SC2016
case $direction in
  in)
    inside='cd
      { mkdir -p -- "$1" && cd -- "$1"; } 2>/dev/null \
        || { echo "cannot create the directory $1 in the container (a file is in the way, or no permission)" >&2; exit 1; }
      # GNU tar reports a full disk as a short write ("Wrote only N of M
      # bytes"): say what it means.
      if ! said=$(tar -x -p -f - 2>&1); then
        printf "%s\n" "$said" >&2
        if [[ $said == *"Wrote only"* || $said == *"No space left"* || $said == *"quota exceeded"* ]]; then
          echo "No space left on device: the container reached its disk limit" >&2
        fi
        exit 1
      fi' ;;
  out)
    inside='cd
      src=$1
      [[ -e $src || -L $src ]] || { echo "no such file or directory in the container: $src" >&2; exit 1; }
      case $src in
        */) exec tar -c -f - -C "$src" . ;;
        *) exec tar -c -f - -C "$(dirname -- "$src")" -- "$(basename -- "$src")" ;;
      esac' ;;
esac
exec "${ENTER_ARGV[@]}" -- /bin/bash -c "$inside" "stream_$direction" "$target"
