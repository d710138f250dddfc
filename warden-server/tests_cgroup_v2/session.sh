#!/bin/bash
# One run inside the cgroup v2 guest (started by the image's init, read from
# the run share at /run/warden-guest, so it changes without a rebuild):
# report the hierarchy, load the modules the backend needs, mount the
# checkout at its host path, run the command, leave its status on the share.
set -o nounset -o pipefail
share=/run/warden-guest
checkout=$(cat "$share/checkout")

echo "guest: kernel $(uname -r)"
echo "guest: cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts || echo "guest: /sys/fs/cgroup is not cgroup2"
[[ -e /sys/fs/cgroup/unified || -e /sys/fs/cgroup/memory ]] && echo "guest: a cgroup v1 hierarchy is present"

# No udev here: load what namespaces, networking, disks and firewalls need.
for module in tun loop veth bridge overlay nf_tables nft_chain_nat nft_compat xt_conntrack \
  nf_conntrack iptable_filter iptable_nat ip6table_filter sch_tbf sch_htb cls_u32 act_police \
  sch_ingress xfs ext4; do
  modprobe "$module" 2>/dev/null || echo "guest: modprobe $module failed"
done
ip link set lo up
# Like a systemd host: the root's controllers enabled for its children, and
# no process left in the root cgroup (this run moves to a child of its own).
controllers=$(sed -e 's/\([a-z_]*\)/+\1/g' /sys/fs/cgroup/cgroup.controllers)
echo "$controllers" >/sys/fs/cgroup/cgroup.subtree_control \
  || echo "guest: cannot enable $controllers in the root cgroup"
mkdir -p /sys/fs/cgroup/init.scope
echo $$ >/sys/fs/cgroup/init.scope/cgroup.procs || echo "guest: cannot move into /init.scope"
echo "guest: cgroup.subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control); this run in $(cut -d: -f3 /proc/self/cgroup)"
hostname warden-cgroup-v2
mkdir -p /tmp && chmod 1777 /tmp

mkdir -p "$checkout"
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose host0 "$checkout"; then
  echo "guest: cannot mount the checkout at $checkout"
  exit 1
fi
# The four packages' sources (``warden`` is a namespace package across them).
pythonpath=""
for src in warden-protocol warden-client twisted-warden-client warden-server; do
  pythonpath+="${pythonpath:+:}$checkout/$src/src"
done
export PYTHONPATH=$pythonpath HOME=/root LANG=C.UTF-8 TERM=dumb
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

mapfile -d '' -t command <"$share/argv"
echo "guest: running ${command[*]} in $checkout/warden-server"
cd "$checkout/warden-server" || exit 1
started=$(date +%s)
"${command[@]}" </dev/null 2>&1 | tee "$share/output"
status=${PIPESTATUS[0]}
echo "guest: exit status $status after $(( $(date +%s) - started )) s"
echo "$status" >"$share/status.tmp" && mv "$share/status.tmp" "$share/status"
cd /
umount "$checkout"
