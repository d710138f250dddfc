#!/bin/bash
# job.sh CONTAINER_PATH: run one job of an insecure container.
#
# Started by the server in a session of its own, so it outlives the server.
# Environment: JOB_DIR (the job's directory, holding `script`), DISCARD_OUTPUT
# (true: output goes to /dev/null), LANG, RLIMIT_<NAME> (optional).
#
# Runs `env -i bash` in <container>/root with the script as stdin, stdout and
# stderr appended to JOB_DIR/stdout and JOB_DIR/stderr, in a process group of
# its own whose leader's pid goes to JOB_DIR/pid. When it ends, writes its exit
# status to JOB_DIR/exit_status (128+N when killed by signal N), then exits.
# Both files appear atomically (written aside, then renamed).
set -o nounset -o errexit -o pipefail
[ -n "${DEBUG:-}" ] && set -o xtrace
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/../common/rlimits.sh"

path=${1:-}
[ -n "$path" ] || fail "job: usage: job.sh CONTAINER_PATH"
for name in JOB_DIR DISCARD_OUTPUT LANG; do
  [ -n "${!name+set}" ] || fail "job: $name is required"
done
[ -f "$JOB_DIR/script" ] || fail "job: no script in $JOB_DIR"
[ -d "$path/root" ] || fail "job: no container at $path"

exec < /dev/null
record_session "$path"

if [ "$DISCARD_OUTPUT" = true ]; then
  out=/dev/null err=/dev/null
else
  out=$JOB_DIR/stdout err=$JOB_DIR/stderr
fi

# Job control gives the job a process group of its own: the server signals
# that group (output limit), stop.sh every process of our session.
set -m
(
  apply_rlimits
  cd "$path/root"
  exec env -i LANG="$LANG" /bin/bash
) < "$JOB_DIR/script" >> "$out" 2>> "$err" &
child=$!
if ! { echo "$child" > "$JOB_DIR/pid.tmp" && mv -f "$JOB_DIR/pid.tmp" "$JOB_DIR/pid"; }; then
  # (A full disk.) The server would never know of the job: it must not run.
  kill -KILL -- "-$child" 2> /dev/null || true
  fail job "cannot record the job's pid in $JOB_DIR"
fi

# Nobody reads our own output any more (the server may be gone).
exec > /dev/null 2>&1
status=0
wait "$child" || status=$?
echo "$status" > "$JOB_DIR/exit_status.tmp"
mv -f "$JOB_DIR/exit_status.tmp" "$JOB_DIR/exit_status"
