#!/bin/bash
# One container's firewall and NAT: net.sh setup|teardown|in|out|
# get_egress_info|get_ingress_info. The host chains (../net.sh) must exist.
#
# Reads ./etc/config when the container has one; otherwise (or for anything it
# leaves out) the environment, so that it also runs by hand:
#   id                     container id (interfaces w-<id>-0/-2, chains warden-i-<id>)
#   network_container_ip   the container's address (in: DNAT target)
#   network_host_iface     default w-<id>-0; network_ifb_iface default w-<id>-2
#
#   setup      (re)create warden-i-<id> (+ -log) in filter and warden-i-<id> in
#              nat, hooked for traffic from w-<id>-0; drops every NetIn/NetOut rule
#   teardown   remove the chains, their hooks, the bandwidth qdiscs and the ifb
#   in         HOST_PORT, CONTAINER_PORT: tcp to any non-loopback host address
#              on HOST_PORT goes to the container's CONTAINER_PORT
#   out        NETWORK (a.b.c.d, a.b.c.d/n or a.b.c.d-e.f.g.h), PORTS (n or a:b),
#              PROTOCOL (tcp|udp|icmp|all, default tcp), ICMP_TYPE, ICMP_CODE,
#              LOG (true: log new tcp connections with prefix "warden-i-<id> ")
#   get_egress_info / get_ingress_info
#              `tc -j qdisc show` of w-<id>-0 (towards the container) / of the
#              ifb (from the container); [] when the device does not exist

[ -n "${DEBUG:-}" ] && set -o xtrace
set -o nounset -o errexit -o pipefail
shopt -s nullglob

cd "$(dirname "${0}")"
source ./lib/iptables.sh
if [ -f ./etc/config ]; then
  source ./etc/config
fi

step="net.sh ${1:-}"

fail() {
  echo "${step}: $*" 1>&2
  exit 1
}

[ -n "${id:-}" ] || fail "Please specify id..."
network_host_iface=${network_host_iface:-w-${id}-0}
network_ifb_iface=${network_ifb_iface:-w-${id}-2}
instance_chain="${instance_chain_prefix}${id}"
instance_log_chain="${instance_chain}-log"

teardown_filter() {
  delete_rules_matching filter "${filter_forward_chain}" " -g ${instance_chain}( |\$)"
  # The instance chain may goto its log chain: empty it before deleting either.
  if chain_exists filter "${instance_chain}"; then
    ipt -F "${instance_chain}"
  fi
  delete_chain filter "${instance_log_chain}"
  delete_chain filter "${instance_chain}"
}

# Position right after the rule commented warden-instances: the head of
# warden-forward before it only changes when the host chains are rebuilt.
instances_position() {
  local number
  number=$(ipt -S "${filter_forward_chain}" | grep -n -- '--comment "\?warden-instances' |
    cut -d: -f1) || fail "${filter_forward_chain} has no warden-instances rule"
  # -S prints the -N line first, so line n is rule n-1; insert after it.
  echo "${number}"
}

setup_filter() {
  teardown_filter

  ipt -N "${instance_log_chain}"
  ipt -A "${instance_log_chain}" --protocol tcp -m conntrack --ctstate NEW,UNTRACKED,INVALID \
    --jump LOG --log-prefix "${instance_chain} "
  ipt -A "${instance_log_chain}" --jump ACCEPT

  ipt -N "${instance_chain}"
  ipt -A "${instance_chain}" --goto "${filter_default_chain}"

  local position
  position=$(instances_position)
  ipt -I "${filter_forward_chain}" "${position}" \
    --in-interface "${network_host_iface}" --goto "${instance_chain}"
}

teardown_nat() {
  delete_rules_matching nat "${nat_prerouting_chain}" " -j ${instance_chain}( |\$)"
  delete_chain nat "${instance_chain}"
}

setup_nat() {
  teardown_nat
  ipt -t nat -N "${instance_chain}"
  ipt -t nat -A "${nat_prerouting_chain}" --jump "${instance_chain}"
}

link_exists() {
  ip link show dev "$1" >/dev/null 2>&1
}

teardown_bandwidth() {
  if link_exists "${network_host_iface}"; then
    tc qdisc del dev "${network_host_iface}" root 2>/dev/null || true
    tc qdisc del dev "${network_host_iface}" ingress 2>/dev/null || true
  fi
  if link_exists "${network_ifb_iface}"; then
    ip link del dev "${network_ifb_iface}"
  fi
}

is_port() {
  [[ "$1" =~ ^[0-9]{1,5}$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]
}

net_in() {
  [ -n "${HOST_PORT:-}" ] || fail "Please specify HOST_PORT..."
  [ -n "${CONTAINER_PORT:-}" ] || fail "Please specify CONTAINER_PORT..."
  is_port "${HOST_PORT}" || fail "HOST_PORT is not a port: ${HOST_PORT}"
  is_port "${CONTAINER_PORT}" || fail "CONTAINER_PORT is not a port: ${CONTAINER_PORT}"
  [ -n "${network_container_ip:-}" ] || fail "Please specify network_container_ip..."

  # Any local address but loopback: 127/8 cannot be forwarded to the container.
  ipt -t nat -A "${instance_chain}" --protocol tcp \
    -m addrtype --dst-type LOCAL ! --destination 127.0.0.0/8 \
    --destination-port "${HOST_PORT}" \
    --jump DNAT --to-destination "${network_container_ip}:${CONTAINER_PORT}"
}

net_out() {
  local protocol=${PROTOCOL:-tcp} network=${NETWORK:-} ports=${PORTS:-}
  local icmp_type=${ICMP_TYPE:-} icmp_code=${ICMP_CODE:-} log=${LOG:-}

  case "${protocol}" in
    tcp | udp | icmp | all) ;;
    *) fail "Unknown PROTOCOL: ${protocol}" ;;
  esac
  if [ "${protocol}" != "icmp" ] && [ -z "${network}" ] && [ -z "${ports}" ]; then
    fail "Please specify NETWORK and/or PORTS..."
  fi

  local rule=(--protocol "${protocol}")
  case "${network}" in
    "") ;;
    *-*) rule+=(-m iprange --dst-range "${network}") ;;
    *) rule+=(--destination "${network}") ;;
  esac

  if [ -n "${ports}" ]; then
    case "${protocol}" in
      tcp | udp) rule+=(-m "${protocol}" --destination-port "${ports}") ;;
      *) fail "PORTS needs PROTOCOL tcp or udp, got: ${protocol}" ;;
    esac
  fi

  if [ "${protocol}" = "icmp" ] && [ -n "${icmp_type}" ]; then
    if [ -n "${icmp_code}" ]; then
      rule+=(--icmp-type "${icmp_type}/${icmp_code}")
    else
      rule+=(--icmp-type "${icmp_type}")
    fi
  fi

  if [ "${log}" = "true" ]; then
    rule+=(--goto "${instance_log_chain}")
  else
    rule+=(--jump ACCEPT)
  fi

  # Newest first; the last rule of the chain is the goto to warden-default.
  ipt -I "${instance_chain}" 1 "${rule[@]}"
}

qdisc_info() {
  if link_exists "$1"; then
    tc -j qdisc show dev "$1"
  else
    echo "[]"
  fi
}

check_host_chains() {
  local table_chain table chain
  for table_chain in filter:${filter_forward_chain} filter:${filter_default_chain} \
    nat:${nat_prerouting_chain}; do
    table=${table_chain%%:*} chain=${table_chain#*:}
    chain_exists "${table}" "${chain}" ||
      fail "${table} chain ${chain} is missing; run the host net.sh setup first"
  done
}

case "${1:-}" in
  setup)
    check_host_chains
    setup_filter
    setup_nat
    ;;
  teardown)
    teardown_filter
    teardown_nat
    teardown_bandwidth
    ;;
  in)
    net_in
    ;;
  out)
    net_out
    ;;
  get_egress_info)
    qdisc_info "${network_host_iface}"
    ;;
  get_ingress_info)
    qdisc_info "${network_ifb_iface}"
    ;;
  *)
    fail "Unknown command: ${1:-}"
    ;;
esac
