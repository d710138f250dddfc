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
#   setup      (re)create warden-i-<id> (+ -log) in filter, hooked for traffic
#              from w-<id>-0, and warden-i-<id> in nat, hooked from
#              warden-prerouting at the first NetIn; drops every NetIn/NetOut rule
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

# The script's own directory (no dirname process); BASH_SOURCE, not $0:
# start.sh sources this script (in a subshell: no bash to start).
[[ ${BASH_SOURCE[0]} != */* ]] || cd "${BASH_SOURCE[0]%/*}"
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
# The id names interfaces (w-<id>-0 must fit IFNAMSIZ) and chains.
[[ "${id}" =~ ^[A-Za-z0-9]{1,11}$ ]] || fail "id must be 1 to 11 letters or digits: ${id}"
network_host_iface=${network_host_iface:-w-${id}-0}
network_ifb_iface=${network_ifb_iface:-w-${id}-2}
instance_chain="${instance_chain_prefix}${id}"
instance_log_chain="${instance_chain}-log"
# The nat chain is made with the others but hooked from warden-prerouting
# only by the first NetIn: each commit adding a rule checks every chain
# reachable from the table's hooks (a create got slower with every
# container), and each new connection would go through one jump per
# container. The first NetIn makes this file (exclusively: one of two at once
# adds the hook), teardown removes the hook when it is there.
nat_hooked_marker=./nat-hooked

# The container's rules change in one iptables-restore transaction per table.
# The usual setup and teardown read nothing: setup makes new chains (`-N`
# fails when one is left over) and appends the hook to the host's
# warden-instances chain, where no position has to be found; teardown removes
# exactly what setup made. Either costs the same with 1,000 containers as with
# one. When that fails (a chain left by a start that failed part way, a
# restart), the change is planned from one iptables-save of each table and
# parsed with bash builtins: slower with many containers, but rare.
read_rules() {
  # Two calls, not one of every table split here: cutting a table out of a
  # large dump with bash's ${var#*pattern} takes time quadratic in its size.
  filter_rules=$(iptables-save -t filter)
  nat_rules=$(iptables-save -t nat)
}

# has_chain RULES CHAIN: whether an iptables-save dump declares CHAIN.
has_chain() {
  [[ $'\n'"$1" == *$'\n:'"$2 "* ]]
}

# rules_to_delete RULES CHAIN TARGET: the -D commands for CHAIN's rules that
# jump or go to TARGET.
rules_to_delete() {
  local line pattern="^-A $2 (.* )?-[jg] $3( |\$)"
  # Usually there is none: one match over the whole dump instead of a loop
  # over its lines, which grow with every container.
  [[ $1 == *" -j $3"* || $1 == *" -g $3"* ]] || return 0
  while IFS= read -r line; do
    if [[ ${line} =~ ${pattern} ]]; then
      echo "-D ${line#-A }"
    fi
  done <<<"$1"
}

check_host_chains() {
  if ! has_chain "${filter_rules}" "${filter_forward_chain}" ||
    ! has_chain "${filter_rules}" "${filter_instances_chain}" ||
    ! has_chain "${filter_rules}" "${filter_default_chain}" ||
    ! has_chain "${nat_rules}" "${nat_prerouting_chain}"; then
    fail "the host chains (${filter_forward_chain}, ${filter_instances_chain}," \
      "${filter_default_chain}, ${nat_prerouting_chain}) are missing; run the host" \
      "net.sh setup first"
  fi
}

# The filter table's rules as setup makes them, once the chains exist.
filter_setup_rules() {
  echo "-A ${instance_log_chain} -p tcp -m conntrack --ctstate NEW,UNTRACKED,INVALID -j LOG --log-prefix \"${instance_chain} \""
  echo "-A ${instance_log_chain} -j ACCEPT"
  echo "-A ${instance_chain} -g ${filter_default_chain}"
  echo "-A ${filter_instances_chain} -i ${network_host_iface} -g ${instance_chain}"
}

# New chains only: false when one of the container's chains exists already or
# a host chain is missing. Each table's part is a transaction: one that fails
# is left as it was (the filter table may have been changed when the nat
# part fails; setup_rules' plan copes with that).
setup_new_rules() {
  iptables-restore -w --noflush 2>/dev/null <<EOF
*filter
-N ${instance_chain}
-N ${instance_log_chain}
$(filter_setup_rules)
COMMIT
*nat
-N ${instance_chain}
COMMIT
EOF
}

setup_rules() {
  forget_nat_hook
  setup_new_rules && return 0
  read_rules
  check_host_chains
  # With --noflush, declaring a chain creates it, or empties it when it exists.
  iptables-restore -w --noflush <<EOF
*filter
$(rules_to_delete "${filter_rules}" "${filter_instances_chain}" "${instance_chain}")
:${instance_chain} - [0:0]
:${instance_log_chain} - [0:0]
$(filter_setup_rules)
COMMIT
*nat
$(rules_to_delete "${nat_rules}" "${nat_prerouting_chain}" "${instance_chain}")
:${instance_chain} - [0:0]
COMMIT
EOF
}

forget_nat_hook() {
  if [[ -e ${nat_hooked_marker} ]]; then
    rm -f "${nat_hooked_marker}"
  fi
}

# What setup made (and the first NetIn's hook, when its file says so),
# removed as it was made: one transaction per table and no dump to read (the
# usual case). False when anything differs (a start that failed part way, a
# chain gone): teardown_rules then plans from the dumps.
teardown_made_rules() {
  local hook=""
  if [[ -e ${nat_hooked_marker} ]]; then
    hook="-D ${nat_prerouting_chain} -j ${instance_chain}"
  fi
  iptables-restore -w --noflush 2>/dev/null <<EOF
*filter
-D ${filter_instances_chain} -i ${network_host_iface} -g ${instance_chain}
-F ${instance_chain}
-F ${instance_log_chain}
-X ${instance_chain}
-X ${instance_log_chain}
COMMIT
*nat
${hook}
-F ${instance_chain}
-X ${instance_chain}
COMMIT
EOF
}

teardown_rules() {
  if teardown_made_rules; then
    forget_nat_hook
    return 0
  fi
  read_rules
  local chain filter_commands nat_commands
  filter_commands=$(rules_to_delete "${filter_rules}" "${filter_instances_chain}" "${instance_chain}")
  # The instance chain goes to its log chain: empty both before deleting either.
  for chain in "${instance_chain}" "${instance_log_chain}"; do
    if has_chain "${filter_rules}" "${chain}"; then filter_commands+=$'\n'"-F ${chain}"; fi
  done
  for chain in "${instance_chain}" "${instance_log_chain}"; do
    if has_chain "${filter_rules}" "${chain}"; then filter_commands+=$'\n'"-X ${chain}"; fi
  done
  nat_commands=$(rules_to_delete "${nat_rules}" "${nat_prerouting_chain}" "${instance_chain}")
  if has_chain "${nat_rules}" "${instance_chain}"; then
    nat_commands+=$'\n'"-F ${instance_chain}"$'\n'"-X ${instance_chain}"
  fi
  if [[ -n ${filter_commands//$'\n'/}${nat_commands//$'\n'/} ]]; then
    iptables-restore -w --noflush <<EOF
*filter
${filter_commands}
COMMIT
*nat
${nat_commands}
COMMIT
EOF
  fi
  forget_nat_hook
}

# has_link NAME: whether this network namespace has a link NAME (see
# lib/common.sh's: one lookup, no process).
has_link() {
  [[ -d /proc/sys/net/ipv4/conf/$1 ]]
}

teardown_bandwidth() {
  if has_link "${network_host_iface}"; then
    # -force: go on when there is no such qdisc.
    tc -force -batch - 2>/dev/null <<EOF || true
qdisc del dev ${network_host_iface} root
qdisc del dev ${network_host_iface} ingress
EOF
  fi
  if has_link "${network_ifb_iface}"; then
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
  local rule=(-p tcp -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -m tcp --dport "${HOST_PORT}"
    -j DNAT --to-destination "${network_container_ip}:${CONTAINER_PORT}")
  local first=""
  # Made only when it does not exist (O_EXCL): the first NetIn adds the hook.
  set -o noclobber
  { : >"${nat_hooked_marker}"; } 2>/dev/null && first=1
  set +o noclobber
  if [[ -z ${first} ]]; then
    ipt -t nat -A "${instance_chain}" "${rule[@]}"
    return
  fi
  # The hook and the rule in one transaction, which fails when the chain is
  # gone (a teardown under way): nothing is made then.
  if ! iptables-restore -w --noflush <<EOF; then
*nat
-A ${nat_prerouting_chain} -j ${instance_chain}
-A ${instance_chain} ${rule[*]}
COMMIT
EOF
    forget_nat_hook  # the next NetIn tries the hook again
    fail "could not add the rule and the hook of ${instance_chain} (nat)"
  fi
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

# Info asks for these often: a single tc each; a missing device (no ifb yet)
# means no limit.
qdisc_info() {
  tc -j qdisc show dev "$1" 2>/dev/null || echo "[]"
}

case "${1:-}" in
  setup)
    setup_rules
    ;;
  teardown)
    teardown_rules
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
