#!/bin/bash
# Host setup for the linux backend, run by the server at start (as root).
#
#   CGROUP_PARENT=warden CONTAINER_DEPOT_PATH=/var/lib/warden/containers \
#   CONTAINER_ROOTFS_PATH=/var/lib/warden/rootfs ./setup.sh
#
# 1. checks that every tool the scripts use is installed (and names the
#    Debian package of each missing one), and that bin/warden-exec (the job
#    launcher, built by make setup) is there;
# 2. checks overlayfs, the rootfs and the depot;
# 3. makes the containers' /dev template in the depot (CONTAINER_DEPOT_PATH/
#    .dev-template: the device nodes, copied at each start);
# 4. installs the base firewall structure: net.sh setup, when the
#    networking part (net.sh) is present.
# The cgroups are not its business: the server has made them ready before
# (v1, hybrid or v2; warden-server's warden.server.linux.cgroups package).
# It is idempotent: running it again changes nothing.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
[[ $0 != */* ]] || cd "${0%/*}"  # the script's own directory (no dirname process)
source lib/common.sh

require_vars setup CGROUP_PARENT CONTAINER_DEPOT_PATH CONTAINER_ROOTFS_PATH
[[ $(id -u) == 0 ]] || fail setup "linux containers require root privileges"
[[ $CGROUP_PARENT =~ ^[A-Za-z0-9._-]+$ ]] || fail setup "CGROUP_PARENT must be a plain name: $CGROUP_PARENT"

# command -> Debian package
declare -A TOOLS=(
  [unshare]=util-linux [nsenter]=util-linux [pivot_root]=util-linux
  [setsid]=util-linux [setpriv]=util-linux [mount]=mount [umount]=mount [losetup]=mount
  [ip]=iproute2 [catatonit]=catatonit [tar]=tar [hostname]=hostname
  [mknod]=coreutils [realpath]=coreutils [awk]=mawk
)

check_tools() {
  local tool
  local -a missing=()
  for tool in "${!TOOLS[@]}"; do
    command -v "$tool" >/dev/null || missing+=("$tool (Debian package: ${TOOLS[$tool]})")
  done
  if (( ${#missing[@]} > 0 )); then
    local IFS=,
    fail "setup: tools" "missing ${missing[*]}"
  fi
  [[ -x bin/warden-exec ]] || fail "setup: tools" "missing $PWD/bin/warden-exec" \
    "(build it with make setup, or make -C $PWD/src/warden-exec)"
}

check_filesystems() {
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null \
    || fail "setup: overlay" "the kernel has no overlay filesystem"
  [[ -d $CONTAINER_ROOTFS_PATH ]] \
    || fail "setup: rootfs" "container_rootfs_path does not exist $CONTAINER_ROOTFS_PATH"
  [[ -d $CONTAINER_DEPOT_PATH ]] \
    || fail "setup: depot" "container_depot_path does not exist $CONTAINER_DEPOT_PATH"
}

# Best effort: where the depot's file system takes no device nodes, each start
# makes them itself.
make_dev_template() {
  local template=$CONTAINER_DEPOT_PATH/$DEV_TEMPLATE new=$CONTAINER_DEPOT_PATH/$DEV_TEMPLATE.new
  rm -rf "$new"
  if mkdir -m 0700 "$new" && make_devices "$new" 2>/dev/null; then
    rm -rf "$template"
    mv "$new" "$template"
  else
    rm -rf "$new" "$template"
  fi
}

# The firewall belongs to the networking part of the backend (net.sh).
setup_firewall() {
  if [[ -x ./net.sh ]]; then
    ./net.sh setup || fail "setup: firewall" "net.sh setup failed"
  fi
}

check_tools
check_filesystems
make_dev_template
setup_firewall
