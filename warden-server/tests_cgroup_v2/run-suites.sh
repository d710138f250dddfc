#!/bin/bash
# Run the suites listed in suites.txt inside the cgroup v2 guest.
#
#   run-suites.sh [--checkout DIR] [--timeout SECONDS] [PYTEST ARGS...]
#
# Extra arguments go to each pytest session (e.g. -x, -k EXPR). Exits 0
# when every session passed, 1 when one failed, or run-in-guest.sh's 125 when the guest could not run or gave no
# result: never passes when nothing ran.
set -o nounset -o errexit -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
guest_args=(--timeout 1800)
while (( $# > 0 )); do
  case $1 in
    --checkout|--timeout) (( $# >= 2 )) || { echo "run-suites: $1 needs a value" >&2; exit 2; }
      guest_args+=("$1" "$2"); shift 2 ;;
    *) break ;;
  esac
done

mapfile -t suites < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$HERE/suites.txt")
(( ${#suites[@]} > 0 )) || { echo "run-suites: $HERE/suites.txt lists no suite" >&2; exit 2; }
# A line "---" starts another pytest session (suites whose fixtures must not
# share one, as tox keeps them apart on the host): one guest runs them all,
# and the run fails when any of them fails.
script="status=0"
group=()
flush() {
  (( ${#group[@]} > 0 )) || return 0
  script+=$'\n'"python3 -m pytest -q -p no:cacheprovider -rfE $(printf '%q ' "$@" "${group[@]}")|| status=1"
  group=()
}
for suite in "${suites[@]}"; do
  if [[ $suite == --- ]]; then flush "$@"; else group+=("$suite"); fi
done
flush "$@"
script+=$'\n''exit "$status"'
exec "$HERE/run-in-guest.sh" "${guest_args[@]}" -- bash -c "$script"
