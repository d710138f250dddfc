#!/bin/bash
# Build the default container root filesystem: Debian bookworm, minbase
# variant, plus what containers need (bash, tar, coreutils, procps).
#
#   rootfs/setup.sh PATH        (as root; DEBUG=1 traces)
#
# The tree is built next to PATH and renamed into place only when complete,
# so an interrupted build never leaves something that looks usable. An
# existing complete rootfs (marker file present) is left alone.
# The mirror is the host's own Debian mirror from /etc/apt/sources.list(.d),
# else http://deb.debian.org/debian. MIRROR=... overrides it.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace

readonly SUITE=bookworm
readonly EXTRA_PACKAGES=bash,tar,coreutils,procps
readonly MARKER=.warden-rootfs

fail() { echo "rootfs: $*" >&2; exit 1; }

(( $# == 1 )) || fail "usage: $0 PATH"
[[ $(id -u) == 0 ]] || fail "must run as root"
target=$(realpath -m -- "$1")

if [[ -f "$target/$MARKER" ]]; then
  echo "rootfs: $target already built"
  exit 0
fi
# Only building needs it (a machine given a built rootfs may have none).
command -v debootstrap >/dev/null || fail "debootstrap not found (Debian package: debootstrap)"
[[ ! -e "$target" ]] || [[ -z "$(ls -A "$target")" ]] \
  || fail "$target exists and is not a rootfs built by this script; remove it first"

# First URI of an enabled Debian source (one-line .list or deb822 .sources)
# whose path ends in /debian, i.e. the main archive rather than security.
host_mirror() {
  local file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$file" ]] || continue
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$file"
  done
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$file" ]] || continue
    awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$file"
  done
}
mirror=${MIRROR:-$(host_mirror | grep -E '/debian/?$' | head -n 1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}

mkdir -p "$(dirname "$target")"
work=$(mktemp -d "$target.partial.XXXXXX")
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT

echo "rootfs: debootstrap $SUITE from $mirror into $target"
# debootstrap mounts /proc and /sys inside the target: a private mount
# namespace makes sure none of that survives a failure on the host.
unshare --mount --propagation private -- \
  debootstrap --variant=minbase --include="$EXTRA_PACKAGES" "$SUITE" "$work" "$mirror" \
  || fail "debootstrap failed"

# Make the tree small and neutral: no package caches, no host identity.
rm -rf "$work"/var/cache/apt/archives/*.deb "$work"/var/lib/apt/lists/* "$work"/var/log/*.log
: > "$work/etc/hostname"
touch "$work/$MARKER"
chmod 0755 "$work"
# Another build may have finished first (two test runs at once): keep its.
if [[ -f "$target/$MARKER" ]]; then
  echo "rootfs: $target was built meanwhile; discarding this build"
  exit 0
fi
if [[ -d "$target" ]]; then rmdir "$target"; fi
mv -T "$work" "$target"
trap - EXIT
echo "rootfs: done: $target"
