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
#     -i w-<id>-0                   GOTO warden-i-<id>   (per container, net.sh
#                                                        setup inserts them here)
#     DROP                                   (a w- interface with no container)
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

# The last rule of the fixed head of warden-forward; per-container gotos go
# right after it (skeleton/net.sh finds it by this comment).
instances_marker="warden-instances"

teardown_filter() {
  step="net.sh teardown filter"
  # Hooks in the built-in chains.
  delete_rules_matching filter FORWARD " -j ${filter_forward_chain}( |\$)"
  delete_rules_matching filter INPUT ' --comment "?warden-(block-traffic-to-host|related-traffic)'

  # warden-forward refers to the instance chains, which refer to their log
  # chains and to warden-default: flush everything first, then delete.
  local chain
  if chain_exists filter "${filter_forward_chain}"; then
    ipt -F "${filter_forward_chain}"
  fi
  for chain in $(chains_with_prefix filter "${instance_chain_prefix}"); do
    ipt -F "${chain}"
  done
  for chain in $(chains_with_prefix filter "${instance_chain_prefix}"); do
    ipt -X "${chain}"
  done
  delete_chain filter "${filter_forward_chain}"
  delete_chain filter "${filter_default_chain}"
}

setup_filter() {
  step="net.sh setup filter"
  local network

  ipt -N "${filter_default_chain}"
  for network in ${ALLOW_NETWORKS}; do
    ipt -A "${filter_default_chain}" --destination "${network}" --jump ACCEPT
  done
  ipt -A "${filter_default_chain}" --jump REJECT

  ipt -N "${filter_forward_chain}"
  ipt -A "${filter_forward_chain}" -m conntrack --ctstate ESTABLISHED,RELATED --jump ACCEPT
  for network in ${DENY_NETWORKS}; do
    ipt -A "${filter_forward_chain}" --in-interface "w-+" --destination "${network}" \
      --jump REJECT
  done
  ipt -A "${filter_forward_chain}" ! --in-interface "w-+" --out-interface "w-+" \
    -m conntrack --ctstate DNAT --jump ACCEPT
  ipt -A "${filter_forward_chain}" ! --in-interface "w-+" \
    -m comment --comment "${instances_marker}" --jump RETURN
  ipt -A "${filter_forward_chain}" --jump DROP

  # Inserted in reverse order, so the from-container hook comes first.
  ipt -I FORWARD 1 --out-interface "w-+" --jump "${filter_forward_chain}"
  ipt -I FORWARD 1 --in-interface "w-+" --jump "${filter_forward_chain}"

  if [ "${ALLOW_HOST_ACCESS}" != "true" ]; then
    ipt -I INPUT 1 --source "${POOL_NETWORK}" \
      -m comment --comment "warden-block-traffic-to-host" --jump REJECT
    # Replies to connections the host opened (pings, NetIn from the host) are
    # still let through.
    ipt -I INPUT 1 --source "${POOL_NETWORK}" -m conntrack --ctstate ESTABLISHED,RELATED \
      -m comment --comment "warden-related-traffic" --jump ACCEPT
  fi
}

teardown_nat() {
  step="net.sh teardown nat"
  delete_rules_matching nat PREROUTING " -j ${nat_prerouting_chain}( |\$)"
  delete_rules_matching nat OUTPUT " -j ${nat_prerouting_chain}( |\$)"
  delete_rules_matching nat POSTROUTING " -j ${nat_postrouting_chain}( |\$)"

  local chain
  if chain_exists nat "${nat_prerouting_chain}"; then
    ipt -t nat -F "${nat_prerouting_chain}"
  fi
  for chain in $(chains_with_prefix nat "${instance_chain_prefix}"); do
    delete_chain nat "${chain}"
  done
  delete_chain nat "${nat_prerouting_chain}"
  delete_chain nat "${nat_postrouting_chain}"
}

setup_nat() {
  step="net.sh setup nat"
  ipt -t nat -N "${nat_prerouting_chain}"
  ipt -t nat -I PREROUTING 1 --jump "${nat_prerouting_chain}"
  # Connections the host opens to one of its own addresses leave through lo.
  ipt -t nat -I OUTPUT 1 --out-interface lo --jump "${nat_prerouting_chain}"

  ipt -t nat -N "${nat_postrouting_chain}"
  ipt -t nat -A "${nat_postrouting_chain}" --source "${POOL_NETWORK}" \
    ! --destination "${POOL_NETWORK}" --jump MASQUERADE
  ipt -t nat -I POSTROUTING 1 --jump "${nat_postrouting_chain}"
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
    teardown_filter
    teardown_nat
    setup_filter
    setup_nat
    step="net.sh setup"
    echo 1 > /proc/sys/net/ipv4/ip_forward
    ;;
  teardown)
    teardown_filter
    teardown_nat
    ;;
  *)
    fail "Unknown command: ${1:-}"
    ;;
esac
