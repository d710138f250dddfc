# shellcheck shell=bash
# keeper.sh: the command that runs a job under warden-keeper, for both backends.
#
# keeper_argv sets KEEPER_ARGV to warden-keeper and its options (without
# "-- PROGRAM"), from JOB_DIR, DISCARD_OUTPUT (true: nothing is kept) and
# OUTPUT_LIMIT (bytes of stdout and stderr together; empty: no limit),
# JOB_STDIN (true: the job's stdin stays open for the server) and JOB_TTY
# (ROWSxCOLUMNS: the job runs on a pseudo-terminal of that size); both run
# the script as "-c SCRIPT" and listen on JOB_DIR/control. It prints why and
# returns 1 when the keeper is not built.
keeper_argv() {
  # (No command substitution: a job's start must not pay for a fork.)
  local keeper=${BASH_SOURCE[0]%/*}/../linux/bin/warden-keeper
  if [[ ! -x $keeper ]]; then
    echo "$keeper is missing: build it with make setup (or make helpers)" >&2
    return 1
  fi
  KEEPER_ARGV=("$keeper")
  if [[ ${DISCARD_OUTPUT:-false} == true ]]; then
    KEEPER_ARGV+=(--discard)
  elif [[ -n ${OUTPUT_LIMIT:-} ]]; then
    KEEPER_ARGV+=(--limit "$OUTPUT_LIMIT")
  else
    KEEPER_ARGV+=(--unbounded)
  fi
  if [[ -n ${JOB_TTY:-} ]]; then
    KEEPER_ARGV+=(--tty "$JOB_TTY")
  elif [[ ${JOB_STDIN:-false} == true ]]; then
    KEEPER_ARGV+=(--stdin)
  fi
  KEEPER_ARGV+=("$JOB_DIR")
}
