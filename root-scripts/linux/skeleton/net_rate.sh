#!/bin/bash
# Limit a container's bandwidth in both directions with token bucket filters:
#   towards the container:  tbf at the root of w-<id>-0 (the host side veth)
#   from the container:     w-<id>-0's ingress is redirected to the ifb w-<id>-2
#                           (created here when missing), whose root has the
#                           same tbf
#
# Environment: RATE (bits per second), BURST (bytes); id, and optionally
# network_host_iface / network_ifb_iface, from ./etc/config or the environment
# (see net.sh). Running it again replaces the limits without a window in
# which the container is unshaped.

[ -n "${DEBUG:-}" ] && set -o xtrace
set -o nounset -o errexit -o pipefail
shopt -s nullglob

cd "$(dirname "${0}")"
if [ -f ./etc/config ]; then
  source ./etc/config
fi

step="net_rate.sh"

fail() {
  echo "${step}: $*" 1>&2
  exit 1
}

[ -n "${RATE:-}" ] || fail "Please specify RATE..."
[ -n "${BURST:-}" ] || fail "Please specify BURST..."
[[ "${RATE}" =~ ^[1-9][0-9]*$ ]] || fail "RATE is not a positive integer: ${RATE}"
[[ "${BURST}" =~ ^[1-9][0-9]*$ ]] || fail "BURST is not a positive integer: ${BURST}"
[ -n "${id:-}" ] || fail "Please specify id..."
network_host_iface=${network_host_iface:-w-${id}-0}
network_ifb_iface=${network_ifb_iface:-w-${id}-2}

ip link show dev "${network_host_iface}" >/dev/null 2>&1 ||
  fail "no interface ${network_host_iface}"

setup_ifb() {
  step="net_rate.sh ifb"
  if ! ip link show dev "${network_ifb_iface}" >/dev/null 2>&1; then
    ip link add name "${network_ifb_iface}" type ifb
  fi
  # Same MTU as the veth, so redirected packets always fit. (Read through ip:
  # /sys may belong to another network namespace than this process.)
  local mtu
  mtu=$(ip -o link show dev "${network_host_iface}" | sed -n -e 's/.* mtu \([0-9]\+\) .*/\1/p')
  [ -n "${mtu}" ] || fail "cannot read the MTU of ${network_host_iface}"
  ip link set dev "${network_ifb_iface}" mtu "${mtu}" up
}

# latency: the longest a packet may wait for tokens before it is dropped.
shape() {
  step="net_rate.sh shape $1"
  tc qdisc replace dev "$1" root tbf rate "${RATE}bit" burst "${BURST}" latency 25ms
}

redirect_ingress_to_ifb() {
  step="net_rate.sh redirect"
  if ! tc qdisc show dev "${network_host_iface}" ingress | grep -q '^qdisc ingress'; then
    tc qdisc add dev "${network_host_iface}" ingress
  fi
  if [ -z "$(tc filter show dev "${network_host_iface}" ingress)" ]; then
    tc filter add dev "${network_host_iface}" ingress protocol all \
      u32 match u32 0 0 action mirred egress redirect dev "${network_ifb_iface}"
  fi
}

setup_ifb
shape "${network_ifb_iface}"
shape "${network_host_iface}"
redirect_ingress_to_ifb
