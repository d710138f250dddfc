#!/bin/bash
# create.sh CONTAINER_PATH: make an insecure container, a plain directory:
#   root/      the jobs' working directory (copy_in/copy_out paths are under it)
#   jobs/      one directory per job
#   sessions/  the sessions of its job wrappers (see lib/common.sh)
#   tmp/       snapshot temporary files
set -o nounset -o errexit -o pipefail
[ -n "${DEBUG:-}" ] && set -o xtrace
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"

path=${1:-}
[ -n "$path" ] || fail "create: usage: create.sh CONTAINER_PATH"
[ ! -e "$path" ] || fail "create: \"$path\" already exists, aborting..."

mkdir -p "$path"/{root,jobs,sessions,tmp} || fail "create: cannot make $path"
echo "$path"
