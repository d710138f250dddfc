#!/bin/bash
# job.sh CONTAINER_PATH: run one job of an insecure container.
#
# Started by the server in a session of its own, so it outlives the server.
# stdin: the job's script (the server passes an in-memory file).
# Environment: JOB_DIR (the job's directory), DISCARD_OUTPUT
# (true: nothing of the output is kept), OUTPUT_LIMIT (bytes of stdout and
# stderr together; empty: no limit), LANG, RLIMIT_<NAME> (optional).
#
# This script becomes warden-keeper (as the Linux backend's job.sh does; see
# root-scripts/linux/src/warden-keeper), which runs `env -i bash` in
# <container>/root with a sealed copy of the script as stdin and pipes as
# stdout and stderr, in
# a process group of its own whose leader's pid goes to JOB_DIR/pid, and
# writes what comes through the pipes to JOB_DIR/stdout and JOB_DIR/stderr.
# When the job ends, the keeper writes its exit status to JOB_DIR/exit_status
# (-N when killed by signal N), then exits. Both files appear atomically
# (written aside, then renamed). JOB_STDIN=true or JOB_TTY=ROWSxCOLUMNS make
# the job interactive (see common/keeper.sh): the keeper appends "-c SCRIPT",
# which reaches the last bash. On a terminal the job leads its own session,
# which stop and destroy find through its pid file (see lib/common.sh).
set -o nounset -o errexit -o pipefail
[ -n "${DEBUG:-}" ] && set -o xtrace
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/../common/keeper.sh"

path=${1:-}
[ -n "$path" ] || fail "job: usage: job.sh CONTAINER_PATH"
for name in JOB_DIR DISCARD_OUTPUT LANG; do
  [ -n "${!name+set}" ] || fail "job: $name is required"
done
[ -d "$path/root" ] || fail "job: no container at $path"

# The script waits on fd 9 for the keeper; nothing before it reads stdin.
exec 9<&0 < /dev/null
record_session "$path"

keeper_argv || fail "job: cannot start the job's output keeper"
exec <&9 9<&-
# The rlimits are the job's, not the keeper's: they are set in the shell
# that becomes the job.
# shellcheck disable=SC2016
exec "${KEEPER_ARGV[@]}" --pid-file "$JOB_DIR/pid" -- /bin/bash -c \
  'source "$1" && apply_rlimits && cd "$2" && exec env -i LANG="$LANG" /bin/bash "${@:3}"' \
  job "$here/../common/rlimits.sh" "$path/root"
