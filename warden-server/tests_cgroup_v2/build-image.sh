#!/bin/bash
# Build (once) and cache what a cgroup v2 guest boots: a Debian kernel, a
# small initramfs that mounts the root disk, and an ext4 root image holding
# a Debian bookworm minbase system, the kernel's modules, the Python packages
# the tests import (pinned by constraints.txt) and the containers' rootfs.
#
#   build-image.sh          (as root) prints the cache directory on stdout
#
# The cache directory is keyed by a hash of the files that shape the image
# (this script, the guest's init scripts, constraints.txt), so changing any
# of them builds a new image and an unchanged checkout only reuses it. A lock
# makes concurrent runs wait for one build instead of racing it. Nothing is
# installed on the host but the build tools: the kernel and busybox packages
# are downloaded and unpacked, never installed. DEBUG=1 traces.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE_ROOT=${WARDEN_V2_CACHE:-/var/cache/warden-cgroup-v2}
readonly SUITE=bookworm
readonly MIRROR=${MIRROR:-http://deb.debian.org/debian}
# The guest root: what the tests and the Linux backend's scripts call
# (debootstrap only because rootfs/setup.sh looks for it before it sees that
# the copied rootfs is complete; the guest has no network to use it).
readonly GUEST_PACKAGES=python3,iproute2,iptables,util-linux,mount,kmod,procps,catatonit,tini,e2fsprogs,xfsprogs,tar,bsdutils,gcc,libc6-dev,linux-libc-dev,make,debootstrap
# Python packages for the tests, at the versions constraints.txt pins.
readonly PYTHON_PACKAGES=(protobuf Twisted PyYAML prompt_toolkit prometheus_client packaging pytest hypothesis)
# Modules the initramfs loads (with their dependencies) to reach the root disk.
readonly INITRAMFS_MODULES=(virtio_pci virtio_blk crc32c_generic ext4)
# Host tools the build needs: command -> Debian package.
readonly HOST_TOOLS=(debootstrap:debootstrap mkfs.ext4:e2fsprogs dpkg-deb:dpkg apt-get:apt flock:util-linux)

log() { echo "cgroup-v2 image: $*" >&2; }
fail() { log "$*"; exit 1; }

[[ $(id -u) == 0 ]] || fail "must run as root (debootstrap, chroot)"

install_missing() {
  local pair cmd missing=()
  for pair in "$@"; do
    cmd=${pair%%:*}
    command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd || -x /sbin/$cmd ]] || missing+=("${pair#*:}")
  done
  (( ${#missing[@]} == 0 )) && return 0
  log "installing ${missing[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

key=$(cat "$HERE/build-image.sh" "$HERE"/guest/* "$REPO/constraints.txt" | sha256sum | cut -c1-16)
cache="$CACHE_ROOT/$key"
if [[ -f "$cache/complete" ]]; then
  touch "$cache/complete"   # its last use, for pruning
  echo "$cache"
  exit 0
fi

install_missing "${HOST_TOOLS[@]}"
python3 -m pip --version >/dev/null 2>&1 || install_missing pip3:python3-pip

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.lock"
log "building $cache (waiting for the build lock)"
flock 9
if [[ -f "$cache/complete" ]]; then   # another run built it meanwhile
  echo "$cache"
  exit 0
fi

started=$SECONDS
work="$CACHE_ROOT/.build-$key"
cleanup() {
  # Unmount anything a failed chroot step left, then drop the work tree.
  local m
  for m in proc sys dev; do mountpoint -q "$work/root/$m" 2>/dev/null && umount -l "$work/root/$m"; done
  rm -rf "$work"
}
trap cleanup EXIT
rm -rf "$work" "$cache"
mkdir -p "$work/debs" "$work/unpacked"

# The kernel: the version linux-image-amd64 currently depends on.
apt-cache show linux-image-amd64 >/dev/null 2>&1 || apt-get update -qq >&2
kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[[ -n "$kpkg" ]] || fail "cannot resolve the kernel package from linux-image-amd64"
log "kernel package $kpkg, busybox-static"
# (as root: the _apt user cannot write into the cache directory)
(cd "$work/debs" && apt-get download -qq -o APT::Sandbox::User=root "$kpkg" busybox-static >&2)
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/unpacked"; done
kver=$(ls "$work/unpacked/lib/modules")
[[ -f "$work/unpacked/boot/vmlinuz-$kver" ]] || fail "no kernel image in $kpkg"

# The guest root.
log "debootstrap $SUITE (minbase) with $GUEST_PACKAGES"
debootstrap --variant=minbase --include="$GUEST_PACKAGES" "$SUITE" "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
mkdir -p "$work/root/lib/modules"
cp -a "$work/unpacked/lib/modules/$kver" "$work/root/lib/modules/"
chroot "$work/root" depmod -a "$kver"
install -m 0755 "$HERE/guest/init.sh" "$work/root/sbin/warden-guest-init"
echo warden-cgroup-v2 >"$work/root/etc/hostname"

# Python packages, into a directory of the image that a .pth file adds to
# the guest's sys.path. Wheels only, chosen for the guest's python3 (Debian
# bookworm's CPython 3.11, glibc 2.36), whatever the host's python3 is.
log "pip install ${PYTHON_PACKAGES[*]} (constraints.txt)"
python3 -m pip install -q --no-warn-script-location --target "$work/root/opt/warden-python" \
  --only-binary=:all: --implementation cp --python-version 3.11 --abi cp311 --abi abi3 --abi none \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64 --platform any \
  -c "$REPO/constraints.txt" "${PYTHON_PACKAGES[@]}" 2>&1 | grep -v -e 'is ignored' -e 'as the .root. user' >&2 || true
[[ -d "$work/root/opt/warden-python/twisted" && -d "$work/root/opt/warden-python/google/protobuf" ]] \
  || fail "pip install --target did not install the test dependencies"
echo /opt/warden-python >"$work/root/usr/lib/python3/dist-packages/warden-python.pth"
# The tests start the server and the shell next to sys.executable (/usr/bin).
printf '#!/usr/bin/python3\nimport sys\nfrom warden.server._main import main\nsys.exit(main())\n' \
  >"$work/root/usr/bin/warden-server"
printf '#!/usr/bin/python3\nimport sys\nfrom warden.client._repl import main\nsys.exit(main())\n' \
  >"$work/root/usr/bin/warden"
chmod 0755 "$work/root/usr/bin/warden-server" "$work/root/usr/bin/warden"

# The containers' rootfs: the host's, else built by the backend's own script.
if [[ -f /var/lib/warden/rootfs/.warden-rootfs ]]; then
  mkdir -p "$work/root/var/lib/warden"
  cp -a /var/lib/warden/rootfs "$work/root/var/lib/warden/rootfs"
else
  "$REPO/root-scripts/linux/rootfs/setup.sh" "$work/root/var/lib/warden/rootfs" >&2
fi

# The initramfs: static busybox and the modules that reach the root disk, in
# the order modprobe would load them (resolved with the guest's own kmod).
log "initramfs"
ird="$work/initramfs"
mkdir -p "$ird"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$work/unpacked/bin/busybox" "$ird/bin/busybox"
install -m 0755 "$HERE/guest/initramfs-init.sh" "$ird/init"
: >"$ird/modules"
for mod in "${INITRAMFS_MODULES[@]}"; do
  chroot "$work/root" modprobe -S "$kver" --show-depends "$mod" 2>/dev/null | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r path; do
  cp "$work/root$path" "$ird/lib/modules/"
  echo "${path##*/}" >>"$ird/modules"
done
grep -q '^virtio_blk' "$ird/modules" || fail "virtio_blk module not found for the initramfs"
(cd "$ird" && find . | "$work/unpacked/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -9) >"$work/initrd.img"

# The root image: sparse, with room for the tests' depots and overlays
# (runs boot it with snapshot=on, so writes never reach the cache).
log "mkfs.ext4 root image"
mkfs.ext4 -q -F -L warden-guest -d "$work/root" "$work/root.img" 6G >&2

mkdir -p "$cache.tmp"
mv "$work/root.img" "$work/initrd.img" "$cache.tmp/"
cp "$work/unpacked/boot/vmlinuz-$kver" "$cache.tmp/vmlinuz"
echo "$kver" >"$cache.tmp/kernel-version"
touch "$cache.tmp/complete"
rm -rf "$cache"
mv "$cache.tmp" "$cache"
log "built $cache in $((SECONDS - started)) s"
# Keep the images of the three most recently used keys (other checkouts may
# be on other build scripts); a running guest keeps its open image anyway.
ls -1t "$CACHE_ROOT"/*/complete 2>/dev/null | tail -n +4 | while read -r stale; do
  log "removing the older image ${stale%/complete}"
  rm -rf "${stale%/complete}"
done
echo "$cache"
