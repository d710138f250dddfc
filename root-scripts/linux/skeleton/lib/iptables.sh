# shellcheck shell=bash
# Helpers shared by the host firewall script (../../net.sh) and the
# per-container net.sh. Sourced, not executed.

# Chain names fixed by the original (see docs/architecture.md).
filter_forward_chain="warden-forward"
filter_default_chain="warden-default"
nat_prerouting_chain="warden-prerouting"
nat_postrouting_chain="warden-postrouting"
instance_chain_prefix="warden-i-"
# warden-forward jumps here; the per-container hooks (-i w-<id>-0 -g
# warden-i-<id>) are appended by the container's net.sh: a chain of their
# own, so that none needs a position.
filter_instances_chain="warden-instances"

# Every iptables call waits for the xtables lock instead of failing.
ipt() {
  iptables -w "$@"
}

# chain_exists TABLE CHAIN
chain_exists() {
  iptables -w -t "$1" -S "$2" >/dev/null 2>&1
}

# delete_rules_matching TABLE CHAIN REGEX: delete each rule of CHAIN whose
# `iptables -S` line matches REGEX (extended). Missing chains are ignored.
# xargs re-reads the quoted words of -S output (comments) the way iptables
# printed them.
delete_rules_matching() {
  local table=$1 chain=$2 regex=$3
  chain_exists "${table}" "${chain}" || return 0
  iptables -w -t "${table}" -S "${chain}" |
    { grep -E -- "${regex}" || true; } |
    sed -e 's/^-A /-D /' |
    xargs --no-run-if-empty --max-lines=1 iptables -w -t "${table}"
}

# delete_chain TABLE CHAIN: flush and delete CHAIN if it exists. Callers remove
# the references to it first.
delete_chain() {
  local table=$1 chain=$2
  chain_exists "${table}" "${chain}" || return 0
  iptables -w -t "${table}" -F "${chain}"
  iptables -w -t "${table}" -X "${chain}"
}

# chains_with_prefix TABLE PREFIX: names of existing chains starting with PREFIX.
chains_with_prefix() {
  iptables -w -t "$1" -S | sed -n -e "s/^-N \($2[^ ]*\)\$/\1/p"
}
