#!/bin/bash
# Host firewall for warden containers: `net.sh setup` (run by setup.sh at
# server start) and `net.sh teardown`. setup always tears down first, so running
# it again (a server restart) leaves exactly one copy of every rule.
#
# Environment:
#   POOL_NETWORK       a.b.c.d/n of the container network pool (setup: required)
#   ALLOW_NETWORKS     space-separated networks every container may reach
#   DENY_NETWORKS      space-separated networks no container may reach, whatever
#                      allow_networks or NetOut say
#   ALLOW_HOST_ACCESS  "true" lets containers reach the host itself
#
# Layout (filter table):
#   FORWARD  -i w-+ -j warden-forward      (inserted first: container traffic is
#   FORWARD  -o w-+ -j warden-forward       decided here, not by later host rules)
#   warden-forward:
#     ESTABLISHED,RELATED           ACCEPT
#     -i w-+ -d <deny network>      REJECT   (one per DENY_NETWORKS entry)
#     ! -i w-+ -o w-+ ctstate DNAT  ACCEPT   (NetIn traffic into a container)
#     ! -i w-+                      RETURN   (anything else into a container: the
#                                             host's own rules decide)
#                                   JUMP warden-instances
#     DROP                                   (a w- interface with no container)
#   warden-instances: -i w-<id>-0   GOTO warden-i-<id>   (per container, appended
#                                                       by skeleton/net.sh setup)
#   warden-i-<id>: NetOut rules (ACCEPT, or GOTO warden-i-<id>-log), then
#     GOTO warden-default
#   warden-default: -d <allow network> ACCEPT ..., then REJECT
#   INPUT (unless ALLOW_HOST_ACCESS=true): from POOL_NETWORK, ESTABLISHED,RELATED
#     ACCEPT, then REJECT: a container cannot open connections to the host.
# nat table:
#   PREROUTING -j warden-prerouting; OUTPUT -o lo -j warden-prerouting (NetIn
#   from the host itself); POSTROUTING -j warden-postrouting, which masquerades
#   the pool network's traffic to anywhere outside it.
#
# Only warden's own chains and the rules that jump to them (or that carry a
# warden-* comment) are ever touched; the host's other rules stay as they are.

[ -n "${DEBUG:-}" ] && set -o xtrace
set -o nounset -o errexit -o pipefail
shopt -s nullglob

cd "$(dirname "${0}")"
source ./skeleton/lib/iptables.sh

ALLOW_NETWORKS=${ALLOW_NETWORKS:-}
DENY_NETWORKS=${DENY_NETWORKS:-}
ALLOW_HOST_ACCESS=${ALLOW_HOST_ACCESS:-false}

step="net.sh"

fail() {
  echo "${step}: $*" 1>&2
  exit 1
}

# The comment of the last rule before the per-container hooks (the jump to
# warden-instances). A container made by an earlier skeleton/net.sh, which
# inserted its hook into warden-forward itself, finds its place by it.
instances_marker="warden-instances"

# The whole firewall changes in one iptables-restore transaction, planned
# from one iptables-save of each table: a restart of the server rebuilds it
# with a handful of processes instead of one iptables call per rule (about
# 20 ms instead of 300 here). Parsing uses bash builtins only.
read_rules() {
  filter_rules=$(iptables-save -t filter)
  nat_rules=$(iptables-save -t nat)
}

# has_chain RULES CHAIN: whether an iptables-save dump declares CHAIN.
has_chain() {
  [[ $'\n'"$1" == *$'\n:'"$2 "* ]]
}

# hooks_to_delete RULES CHAIN REGEX: the -D commands for CHAIN's rules whose
# line matches REGEX (extended).
hooks_to_delete() {
  local line
  while IFS= read -r line; do
    if [[ ${line} == "-A $2 "* && ${line} =~ $3 ]]; then echo "-D ${line#-A }"; fi
  done <<<"$1"
}

# chains_named RULES PREFIX: the chains of a dump whose name starts with PREFIX.
chains_named() {
  local line name
  while IFS= read -r line; do
    [[ ${line} == ":$2"* ]] || continue
    name=${line#:}
    echo "${name%% *}"
  done <<<"$1"
}

# teardown_commands RULES TABLE: the -D, -F and -X commands that remove
# warden's hooks and chains from TABLE (the host's other rules stay).
teardown_commands() {
  local rules=$1 table=$2 chain
  local -a chains
  if [[ ${table} == filter ]]; then
    hooks_to_delete "${rules}" FORWARD " -j ${filter_forward_chain}( |\$)"
    hooks_to_delete "${rules}" INPUT ' --comment "?warden-(block-traffic-to-host|related-traffic)'
    chains=("${filter_forward_chain}" "${filter_instances_chain}" "${filter_default_chain}")
  else
    hooks_to_delete "${rules}" PREROUTING " -j ${nat_prerouting_chain}( |\$)"
    hooks_to_delete "${rules}" OUTPUT " -j ${nat_prerouting_chain}( |\$)"
    hooks_to_delete "${rules}" POSTROUTING " -j ${nat_postrouting_chain}( |\$)"
    chains=("${nat_prerouting_chain}" "${nat_postrouting_chain}")
  fi
  mapfile -t -O "${#chains[@]}" chains < <(chains_named "${rules}" "${instance_chain_prefix}")
  # The chains refer to each other: empty every one before deleting any.
  for chain in "${chains[@]}"; do
    if has_chain "${rules}" "${chain}"; then echo "-F ${chain}"; fi
  done
  for chain in "${chains[@]}"; do
    if has_chain "${rules}" "${chain}"; then echo "-X ${chain}"; fi
  done
}

setup_commands_filter() {
  local network
  echo ":${filter_default_chain} - [0:0]"
  echo ":${filter_forward_chain} - [0:0]"
  echo ":${filter_instances_chain} - [0:0]"
  for network in ${ALLOW_NETWORKS}; do
    echo "-A ${filter_default_chain} -d ${network} -j ACCEPT"
  done
  echo "-A ${filter_default_chain} -j REJECT"
  echo "-A ${filter_forward_chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
  for network in ${DENY_NETWORKS}; do
    echo "-A ${filter_forward_chain} -i w-+ -d ${network} -j REJECT"
  done
  echo "-A ${filter_forward_chain} ! -i w-+ -o w-+ -m conntrack --ctstate DNAT -j ACCEPT"
  echo "-A ${filter_forward_chain} ! -i w-+ -m comment --comment ${instances_marker} -j RETURN"
  echo "-A ${filter_forward_chain} -j ${filter_instances_chain}"
  echo "-A ${filter_forward_chain} -j DROP"
  # Inserted in reverse order, so the from-container hook comes first.
  echo "-I FORWARD 1 -o w-+ -j ${filter_forward_chain}"
  echo "-I FORWARD 1 -i w-+ -j ${filter_forward_chain}"
  if [ "${ALLOW_HOST_ACCESS}" != "true" ]; then
    echo "-I INPUT 1 -s ${POOL_NETWORK} -m comment --comment warden-block-traffic-to-host -j REJECT"
    # Replies to connections the host opened (pings, NetIn from the host) are
    # still let through.
    echo "-I INPUT 1 -s ${POOL_NETWORK} -m conntrack --ctstate ESTABLISHED,RELATED" \
      "-m comment --comment warden-related-traffic -j ACCEPT"
  fi
}

setup_commands_nat() {
  echo ":${nat_prerouting_chain} - [0:0]"
  echo ":${nat_postrouting_chain} - [0:0]"
  echo "-I PREROUTING 1 -j ${nat_prerouting_chain}"
  # Connections the host opens to one of its own addresses leave through lo.
  echo "-I OUTPUT 1 -o lo -j ${nat_prerouting_chain}"
  echo "-A ${nat_postrouting_chain} -s ${POOL_NETWORK} ! -d ${POOL_NETWORK} -j MASQUERADE"
  echo "-I POSTROUTING 1 -j ${nat_postrouting_chain}"
}

# apply_firewall setup|teardown: one transaction for both tables.
apply_firewall() {
  local filter_commands nat_commands
  read_rules
  filter_commands=$(teardown_commands "${filter_rules}" filter)
  nat_commands=$(teardown_commands "${nat_rules}" nat)
  if [[ $1 == setup ]]; then
    filter_commands+=$'\n'$(setup_commands_filter)
    nat_commands+=$'\n'$(setup_commands_nat)
  fi
  iptables-restore -w --noflush <<EOF
*filter
${filter_commands}
COMMIT
*nat
${nat_commands}
COMMIT
EOF
}

check_setup_environment() {
  step="net.sh setup"
  local tool
  for tool in iptables iptables-save iptables-restore ip tc xargs; do
    command -v "${tool}" >/dev/null || fail "missing ${tool} (Debian packages: iptables, iproute2, findutils)"
  done
  [ -n "${POOL_NETWORK:-}" ] || fail "Please specify POOL_NETWORK..."
  case "${ALLOW_HOST_ACCESS}" in
    true | false) ;;
    *) fail "ALLOW_HOST_ACCESS must be true or false, got: ${ALLOW_HOST_ACCESS}" ;;
  esac
}

case "${1:-}" in
  setup)
    check_setup_environment
    apply_firewall setup || fail "cannot install the firewall"
    echo 1 > /proc/sys/net/ipv4/ip_forward
    ;;
  teardown)
    step="net.sh teardown"
    apply_firewall teardown || fail "cannot remove the firewall"
    ;;
  *)
    fail "Unknown command: ${1:-}"
    ;;
esac
