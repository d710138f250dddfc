#!/bin/bash
# Run a command as root inside a QEMU guest whose kernel has a pure cgroup
# v2 hierarchy, with a checkout shared at its own absolute path.
#
#   run-in-guest.sh [--checkout DIR] [--timeout SECONDS] -- COMMAND [ARGS...]
#
# Builds the guest (kernel, initramfs, root image) on first use and caches it
# (build-image.sh), builds warden-exec into DIR, boots the guest with no
# network device, runs COMMAND with cwd DIR/warden-server and PYTHONPATH set
# to DIR's four packages, prints the serial console and exits with COMMAND's
# status; 125 when QEMU cannot run or no result came back. See README.md.
set -o nounset -o errexit -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checkout=$(cd "$HERE/../.." && pwd)
timeout=1800
readonly NO_RESULT=125

usage() { echo "usage: $0 [--checkout DIR] [--timeout SECONDS] -- COMMAND [ARGS...]" >&2; exit 2; }
fail() { echo "run-in-guest: $*" >&2; exit $NO_RESULT; }

while (( $# > 0 )); do
  case $1 in
    --checkout) (( $# >= 2 )) || usage; checkout=$2; shift 2 ;;
    --timeout) (( $# >= 2 )) || usage; timeout=$2; shift 2 ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
(( $# > 0 )) || usage
[[ $timeout =~ ^[1-9][0-9]*$ ]] || { echo "run-in-guest: --timeout must be a positive number of seconds, not '$timeout'" >&2; exit 2; }
[[ -d $checkout/warden-server ]] || { echo "run-in-guest: $checkout is not a warden checkout (no warden-server/)" >&2; exit 2; }
checkout=$(realpath -- "$checkout")
[[ $(id -u) == 0 ]] || fail "must run as root"

# QEMU and the C helper's compiler on the host, installed only when missing.
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86 qemu-utils)
command -v gcc >/dev/null || missing+=(gcc)
[[ -e /usr/include/stdlib.h ]] || missing+=(libc6-dev)
[[ -e /usr/include/linux/seccomp.h ]] || missing+=(linux-libc-dev)
command -v make >/dev/null || missing+=(make)
if (( ${#missing[@]} > 0 )); then
  echo "run-in-guest: installing ${missing[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || fail "cannot install ${missing[*]}"
fi
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is not available"

image=$("$HERE/build-image.sh" | tail -n 1) || fail "building the guest image failed"
[[ -f $image/complete ]] || fail "build-image.sh gave no usable image directory ('$image')"
for helper in warden-exec warden-keeper warden-spawner; do
  make -s -C "$checkout/root-scripts/linux/src/$helper" || fail "building $helper in $checkout failed"
done

run=$(mktemp -d /tmp/warden-guest-run.XXXXXX)
trap 'rm -rf "$run"' EXIT
cp "$HERE/session.sh" "$run/session.sh"
printf '%s' "$checkout" >"$run/checkout"
printf '%s\0' "$@" >"$run/argv"

# Software emulation: this machine's /dev/kvm cannot boot a stock kernel.
# snapshot=on keeps the cached image unchanged; -nic none: no network at all.
echo "run-in-guest: booting $(cat "$image/kernel-version") (timeout ${timeout}s)" >&2
qemu_status=0
timeout --kill-after=15 "$timeout" qemu-system-x86_64 \
  -machine q35 -accel tcg,thread=multi -cpu max -m 2048 -smp 2 \
  -nic none -display none -monitor none -serial stdio -no-reboot \
  -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
  -append "console=ttyS0 root=/dev/vda rw quiet panic=-1 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all" \
  -drive "file=$image/root.img,format=raw,if=virtio,snapshot=on" \
  -virtfs "local,path=$checkout,mount_tag=host0,security_model=none" \
  -virtfs "local,path=$run,mount_tag=run0,security_model=none" \
  </dev/null || qemu_status=$?

if [[ -f $run/status ]]; then
  exit "$(cat "$run/status")"
fi
(( qemu_status == 124 )) && fail "the guest did not finish within ${timeout}s (--timeout)"
(( qemu_status != 0 )) && fail "qemu-system-x86_64 failed (exit status $qemu_status)"
fail "no result came back from the guest (see the console log above)"
