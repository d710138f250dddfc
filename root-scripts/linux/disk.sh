#!/bin/bash
# A container's size-limited writable layer, for hosts without disk quotas:
# a sparse ext4 image on a loop device that holds the overlay's upper and
# work directories.
#
#   disk.sh create    make the image; its upper/ starts with DISK_SEED's files
#   disk.sh mount     mount it at DISK_MOUNT, in the caller's mount namespace
#                     (the container's): upper/ and work/ are the overlay's
#   disk.sh limit     enforce DISK_BYTES and DISK_INODES (0: no limit)
#   disk.sh destroy   detach its loop devices and remove the image
#   disk.sh probe     whether this host can limit an image by project quota
#                     (run once at server start; exits 0 if it can, 5 if not)
#
# Limits are exact and can move both ways on a live container because they
# are not the image's size: the image is made large (sparse, so it costs
# nothing until written) and a "ballast" takes up the space and the inodes the
# container may not use. The ballast lives beside upper/ at the top of the
# image, where the container cannot see it: a preallocated file (bytes) and a
# directory of empty files (inodes). Raising a limit shrinks the ballast;
# lowering it grows the ballast, which fails if the container already uses
# more. Only a limit beyond the image grows the image (online resize, which
# needs CAP_SYS_RESOURCE).
#
# Where the kernel has ext4 project quotas (DISK_PROJECT_QUOTA=1, when probe
# succeeded at server start), there is no ballast: the image has the quota
# and project features, upper/ and work/ belong to project $PROJECT_ID with
# the inherit flag, every mount uses prjquota (a marker file beside the
# image, "$DISK_IMAGE.prjquota", tells the container's mount), and limit sets
# the project's hard limits with xfs_quota. The kernel then enforces them and
# statfs of upper/ (so the container's overlay root, and its `df /`) shows
# the byte limit as the size and the project's use as used. The image is
# still grown for a limit beyond it, so that the limit is also free space.
#
# The image is only ever mounted in private mount namespaces: the
# container's, and the one this script makes for its own work (gone when it
# exits). Mounting an image that is already on a loop device reuses that
# device, so both see one file system. Loop devices are set up with autoclear:
# the kernel frees one when its last mount goes.
#
# Environment:
#   DISK_IMAGE        the image file (required)
#   DISK_ADMIN        an empty directory for this script's own mount (create, limit)
#   DISK_SIZE         create: image size in bytes
#   DISK_INODES       create: inode count; limit: inode limit (0: none)
#   DISK_SEED         create: optional directory whose files move into upper/
#   DISK_TEMPLATES    create: optional directory of template images (one per
#                     size and inode count), copied instead of running mkfs;
#                     with no DISK_SEED files as well, nothing is mounted
#   DISK_MOUNT        mount: where to mount; destroy: unmounted if mounted
#   DISK_REMOVED_WITH destroy: a directory the caller removes next; the image
#                     and its marker are not removed when they lie in it
#   DISK_BYTES        limit: byte limit (0: none)
#   DISK_BASE_BYTES, DISK_BASE_INODES
#                     limit: what the empty layout uses (create prints them)
#   DISK_PROJECT_QUOTA
#                     create, limit: 1 for limits by project quota (above)
#
# create and limit print "key=value" lines: base_bytes, base_inodes (create);
# used_bytes, used_inodes, ballast_bytes, ballast_inodes, overhead_blocks,
# image_bytes (both). A limit below the container's use exits 3, a failed
# growth 4; other failures exit 1. Errors go to stderr prefixed "disk:".
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace

readonly BALLAST=ballast
readonly BALLAST_INODES=ballast.inodes
readonly BLOCK_SIZE=4096
# Each image is a file system of its own: one project id serves them all.
readonly PROJECT_ID=1
readonly EXIT_NO_PROJECT_QUOTA=5
# How every mount of an image is made (see make_filesystem; the container's
# own mount in skeleton/lib/hook-parent-after-clone.sh says the same).
readonly MOUNT_OPTIONS=loop,nobarrier

fail() {
  local status=$1
  shift
  echo "disk: $*" >&2
  exit "$status"
}

require_vars() {
  local name
  local -a missing=()
  for name in "$@"; do
    [[ -n "${!name:-}" ]] || missing+=("$name")
  done
  (( ${#missing[@]} == 0 )) || fail 1 "required variable(s) not set: ${missing[*]}"
}

require_number() {
  local name
  for name in "$@"; do
    [[ ${!name} =~ ^[0-9]+$ ]] || fail 1 "$name must be a non-negative integer: ${!name}"
  done
}

# Run "disk.sh STEP" again in a new private mount namespace: what it mounts
# there disappears when it exits, even if it is killed.
in_private_namespace() {
  if [[ -z "${DISK_IN_NAMESPACE:-}" ]]; then
    # This file's own path, not $0: create.sh sources it (in a subshell).
    DISK_IN_NAMESPACE=1 exec unshare --mount --propagation private -- "${BASH_SOURCE[0]}" "$@"
  fi
}

project_quota() {
  [[ ${DISK_PROJECT_QUOTA:-0} == 1 ]]
}

# mount_admin [IMAGE]: mount IMAGE (default DISK_IMAGE) at DISK_ADMIN.
mount_admin() {
  local image=${1:-$DISK_IMAGE} options=$MOUNT_OPTIONS
  ! project_quota || options+=,prjquota
  [[ -d $DISK_ADMIN ]] || mkdir -p "$DISK_ADMIN"
  mount -n -o "$options" "$image" "$DISK_ADMIN" || fail 1 "cannot mount $image"
}

# set_project_limits BYTES INODES: the project's hard limits (0: none), on
# the file system mounted at $DISK_ADMIN. xfs_quota (xfsprogs) sets ext4
# project quotas too (-f: a file system other than XFS); 1 KiB units.
set_project_limits() {
  xfs_quota -x -f -c "limit -p bhard=$(( $1 / 1024 ))k ihard=$2 $PROJECT_ID" "$DISK_ADMIN" >/dev/null
}

# measure: read the file system (mounted at $DISK_ADMIN) into globals.
measure() {
  local fs=$DISK_ADMIN count blocks
  read -r fs_block_size total_blocks free_blocks avail_blocks total_inodes free_inodes \
    < <(stat -f -c '%S %b %f %a %c %d' "$fs")
  ballast_bytes=0 ballast_inodes=0 ballast_files=0
  if [[ -e $fs/$BALLAST ]]; then
    blocks=$(stat -c %b "$fs/$BALLAST")
    ballast_bytes=$(( blocks * 512 ))
    ballast_inodes=1
  fi
  if [[ -d $fs/$BALLAST_INODES ]]; then
    blocks=$(stat -c %b "$fs/$BALLAST_INODES")
    # shellcheck disable=SC2012  # numbered names only; ls -f does not sort
    count=$(ls -f "$fs/$BALLAST_INODES" | wc -l)
    ballast_files=$(( count - 2 ))
    ballast_bytes=$(( ballast_bytes + blocks * 512 ))
    ballast_inodes=$(( ballast_inodes + 1 + ballast_files ))
  fi
  used_bytes=$(( (total_blocks - free_blocks) * fs_block_size - ballast_bytes - ${DISK_BASE_BYTES:-0} ))
  used_inodes=$(( total_inodes - free_inodes - ballast_inodes - ${DISK_BASE_INODES:-0} ))
}

# The file system's own blocks (superblock count minus what statfs shows):
# kept by the server to read use from the superblock of an unmounted image.
overhead_blocks() {
  local count="" key value
  while IFS=: read -r key value; do
    [[ $key == "Block count" ]] && count=${value// /}
  done < <(dumpe2fs -h "$1" 2>/dev/null)
  [[ -n $count ]] || fail 1 "cannot read the superblock of $1"
  echo $(( count - total_blocks ))
}

report() {
  local device=$1
  measure
  echo "used_bytes=$used_bytes"
  echo "used_inodes=$used_inodes"
  echo "ballast_bytes=$ballast_bytes"
  echo "ballast_inodes=$ballast_inodes"
  echo "overhead_blocks=$(overhead_blocks "$device")"
  echo "image_bytes=${IMAGE_BYTES:-$(stat -c %s "$DISK_IMAGE")}"
}

# The identity of a loop device's backing file, and of a file: "inode
# major:minor". Not the path: the kernel gives a loop device's backing file
# as seen through the mount it was opened by, and that mount is the
# container's copy, so when the depot is a file system of its own the path
# reads relative to that file system's root (…/tmp/disk.img).
backing_identity() {
  local inode device
  read -r inode device < <(losetup --list --noheadings --output BACK-INO,BACK-MAJ:MIN "$1")
  echo "$inode $device"
}

file_identity() {
  stat -L -c '%i %Hd:%Ld' "$1"
}

admin_device() {
  findmnt -n -o SOURCE --mountpoint "$DISK_ADMIN"
}

# make_filesystem IMAGE SIZE INODES: the empty file system of an image. The
# one place that decides how images are made (mkfs options); templates made
# by an older copy of this script are not used (see template_image).
make_filesystem() {
  # No reserved blocks (limits are the ballast's or the quota's job), tables
  # initialised lazily; with project quotas, only the project quota type (no
  # user or group quota files to grow as the container's users write).
  # No journal, and every mount is nobarrier (MOUNT_OPTIONS): an image never
  # outlives a host crash (its container's processes do not survive one, and
  # the server destroys a container whose init is gone), so nothing needs
  # the file system to be consistent on the host's disk. A journal's commits
  # and the flushes the kernel sends for it (or for a job's fsync) become
  # fsyncs of the image on the host: the host allocates and writes its blocks,
  # and deleting it later frees (and discards) them. Without, a short-lived
  # container's writes stay in the host's page cache and go with the image.
  # meta_bg instead of resize_inode: the group descriptors live in the
  # groups they describe, not in reserved blocks at the start and in every
  # backup group, so a template holds 1 MiB of metadata instead of 6.6 MiB
  # to copy at each create (and to free at each destroy); online growth
  # (grow_image) adds groups with their descriptors.
  local features=^has_journal,^resize_inode,meta_bg extended=lazy_itable_init=1
  if project_quota; then
    features+=,quota,project
    extended+=,quotatype=prjquota
  fi
  truncate -s "$2" "$1"
  mkfs.ext4 -q -F -b "$BLOCK_SIZE" -m 0 -N "$3" -O "$features" -E "$extended" "$1" \
    || fail 1 "mkfs.ext4 failed for $1"
}

# new_layout IMAGE: make the file system in IMAGE, mount it at DISK_ADMIN and
# lay it out (upper/, work/); sets DISK_BASE_BYTES and DISK_BASE_INODES to
# what the layout uses, and OVERHEAD to the file system's own blocks.
new_layout() {
  make_filesystem "$1" "$DISK_SIZE" "$DISK_INODES"
  mount_admin "$1"
  # work/work is what overlayfs makes in its work directory at each mount;
  # made here, it belongs to the layout's own use, not the container's.
  mkdir -m 0755 "$DISK_ADMIN/upper" "$DISK_ADMIN/work"
  if project_quota; then
    # work/ too: overlayfs copies a file up into work/work, then renames it
    # into upper/, and ext4 refuses (EXDEV) a rename into another project.
    chattr +P -p "$PROJECT_ID" "$DISK_ADMIN/upper" "$DISK_ADMIN/work" \
      || fail 1 "cannot set the project of upper/ and work/"
  fi
  mkdir -m 0000 "$DISK_ADMIN/work/work"
  DISK_BASE_BYTES=0 DISK_BASE_INODES=0
  measure
  DISK_BASE_BYTES=$used_bytes DISK_BASE_INODES=$used_inodes
  if project_quota; then
    # upper/ and work/ are the project's: they count in its use and limit.
    local blocks
    blocks=$(stat -c %b "$DISK_ADMIN/upper" "$DISK_ADMIN/work" "$DISK_ADMIN/work/work" | paste -sd+)
    DISK_BASE_BYTES=$(( DISK_BASE_BYTES - (blocks) * 512 ))
    DISK_BASE_INODES=$(( DISK_BASE_INODES - 3 ))
  fi
  OVERHEAD=$(overhead_blocks "$1")
}

# template_image: DISK_IMAGE as a copy of a template image laid out for
# DISK_SIZE and DISK_INODES (made the first time, in DISK_TEMPLATES), mounted
# at DISK_ADMIN; sets what new_layout sets. A copy of the same file system
# is what mkfs and the layout would give (no mkfs on the create path): sparse
# (or a reflink where the depot's file system has them), a few MiB of data.
# A template older than this script is made again, so a change of
# make_filesystem takes effect. Concurrent creates may each make one: the
# values file and then the image are renamed into place, the image last.
template_image() {
  local name=$DISK_TEMPLATES/$DISK_SIZE-$DISK_INODES
  ! project_quota || name+=-prjquota
  local new=$name.new.$$
  if ! template_values "$name"; then
    in_private_namespace create
    # shellcheck disable=SC2174  # only the last is made: the depot exists
    mkdir -p -m 0700 "$DISK_TEMPLATES"  # -p: another create may have just made it
    new_layout "$new.img"
    umount "$DISK_ADMIN" || fail 1 "cannot unmount the template $new.img"
    echo "$DISK_BASE_BYTES $DISK_BASE_INODES $OVERHEAD" > "$new.values"
    mv -f "$new.values" "$name.values"
    mv -f "$new.img" "$name.img"
  fi
  copy_image "$name.img" "$DISK_IMAGE" || fail 1 "cannot copy the template $name.img"
}

# copy_image SOURCE TARGET: a sparse copy (a reflink where the file system
# has them), by the static warden-start beside these scripts when it is
# built (no dynamic loading, and the data extents copied in the kernel
# where cp --sparse=always reads every byte to find zeros), else by cp.
copy_image() {
  local helper=${BASH_SOURCE[0]%/*}/bin/warden-start
  [[ ${BASH_SOURCE[0]} == */* ]] || helper=bin/warden-start
  if [[ -x $helper ]]; then
    "$helper" --copy-image "$1" "$2"
  else
    cp --sparse=always --reflink=auto -- "$1" "$2"
  fi
}

# template_values NAME: whether NAME.img is a template this script made (newer
# than itself); sets what new_layout sets from NAME.values.
template_values() {
  local values=""
  [[ -f $1.img && -f $1.values && $1.img -nt ${BASH_SOURCE[0]} ]] || return 1
  read -r values < "$1.values" || return 1
  [[ $values =~ ^[0-9]+\ [0-9]+\ [0-9]+$ ]] || return 1
  read -r DISK_BASE_BYTES DISK_BASE_INODES OVERHEAD <<< "$values"
}

do_create() {
  require_vars DISK_IMAGE DISK_ADMIN DISK_SIZE DISK_INODES
  require_number DISK_SIZE DISK_INODES
  local -a seed=()
  [[ ! -e $DISK_IMAGE.prjquota ]] || rm -f "$DISK_IMAGE.prjquota"
  if [[ -n "${DISK_SEED:-}" && -d $DISK_SEED ]]; then
    shopt -s dotglob nullglob
    seed=("$DISK_SEED"/*)
    shopt -u dotglob nullglob
  fi
  # Mounted only to make the file system or to move files in: a copy of a
  # template with nothing to add is the fresh layout as it is (no use yet).
  if [[ -n "${DISK_TEMPLATES:-}" ]] && (( ${#seed[@]} == 0 )); then
    [[ ! -e $DISK_IMAGE ]] || rm -f "$DISK_IMAGE"
    template_image
    used_bytes=0 used_inodes=0 ballast_bytes=0 ballast_inodes=0
  else
    in_private_namespace create
    [[ ! -e $DISK_IMAGE ]] || rm -f "$DISK_IMAGE"
    if [[ -n "${DISK_TEMPLATES:-}" ]]; then
      template_image
      mount_admin
    else
      new_layout "$DISK_IMAGE"
    fi
    if (( ${#seed[@]} > 0 )); then
      # Moved across file systems: copied with every attribute, then removed.
      mv -- "${seed[@]}" "$DISK_ADMIN/upper/" || fail 1 "cannot move $DISK_SEED into the image"
    fi
    measure
  fi
  ! project_quota || : > "$DISK_IMAGE.prjquota"
  echo "base_bytes=$DISK_BASE_BYTES"
  echo "base_inodes=$DISK_BASE_INODES"
  echo "used_bytes=$used_bytes"
  echo "used_inodes=$used_inodes"
  echo "ballast_bytes=$ballast_bytes"
  echo "ballast_inodes=$ballast_inodes"
  echo "overhead_blocks=$OVERHEAD"
  echo "image_bytes=$DISK_SIZE"
}

do_mount() {
  require_vars DISK_IMAGE DISK_MOUNT
  local options=$MOUNT_OPTIONS
  [[ ! -e $DISK_IMAGE.prjquota ]] || options+=,prjquota
  mkdir -p "$DISK_MOUNT"
  mount -n -o "$options" "$DISK_IMAGE" "$DISK_MOUNT" || fail 1 "cannot mount $DISK_IMAGE at $DISK_MOUNT"
}

# grow_image DEVICE BYTES INODES: enlarge the image and its file system by
# enough whole block groups for BYTES more bytes and INODES more inodes.
grow_image() {
  local device=$1 bytes=$2 inodes=$3 old_size new_size groups
  local blocks_per_group inodes_per_group inode_size group_bytes usable
  read -r blocks_per_group inodes_per_group inode_size < <(dumpe2fs -h "$device" 2>/dev/null | awk -F: '
      $1 == "Blocks per group" { b = $2 } $1 == "Inodes per group" { i = $2 } $1 == "Inode size" { s = $2 }
      END { print b + 0, i + 0, s + 0 }')
  (( blocks_per_group > 0 && inodes_per_group > 0 )) || fail 1 "cannot read the geometry of $device"
  group_bytes=$(( blocks_per_group * fs_block_size ))
  # Each new group carries its inode table and bitmaps; count it as lost.
  usable=$(( group_bytes - inodes_per_group * inode_size - 4 * fs_block_size ))
  groups=$(( (bytes + usable - 1) / usable ))
  (( inodes <= groups * inodes_per_group )) || groups=$(( (inodes + inodes_per_group - 1) / inodes_per_group ))
  groups=$(( groups + 1 ))
  old_size=$(stat -c %s "$DISK_IMAGE")
  new_size=$(( old_size + groups * group_bytes ))
  truncate -s "$new_size" "$DISK_IMAGE"
  losetup -c "$device"
  local output reason
  if ! output=$(resize2fs "$device" 2>&1); then
    truncate -s "$old_size" "$DISK_IMAGE"
    losetup -c "$device" || true
    reason=$(grep -m 1 '^resize2fs: ' <<< "$output" || tail -n 1 <<< "$output")
    [[ $reason != *"Permission denied"* ]] || reason+=" (online resizing needs CAP_SYS_RESOURCE)"
    fail 4 "cannot grow the disk image to $new_size bytes: $reason"
  fi
}

# add_ballast_inodes N / remove_ballast_inodes N: files are numbered 1..count,
# added and removed at the top so the numbering stays dense.
add_ballast_inodes() {
  local dir=$DISK_ADMIN/$BALLAST_INODES first=$(( ballast_files + 1 ))
  if [[ ! -d $dir ]]; then
    mkdir -m 0700 "$dir"
    (( $1 > 1 )) || return 0
    set -- $(( $1 - 1 ))
  fi
  (cd "$dir" && seq -f '%.0f' "$first" $(( first + $1 - 1 )) | xargs -r touch) \
    || fail 3 "the container uses more inodes than the limit allows"
}

remove_ballast_inodes() {
  local dir=$DISK_ADMIN/$BALLAST_INODES last=$ballast_files
  (cd "$dir" && seq -f '%.0f' $(( last - $1 + 1 )) "$last" | xargs -r rm -f)
}

adjust_inode_ballast() {
  local delta
  measure
  if (( DISK_INODES == 0 )); then
    rm -rf "${DISK_ADMIN:?}/$BALLAST_INODES"
    return
  fi
  # Positive: the container could create more inodes than allowed.
  delta=$(( free_inodes - (DISK_INODES - used_inodes) ))
  if (( delta > 0 )); then
    add_ballast_inodes "$delta"
  elif (( delta < 0 && ballast_files > 0 )); then
    remove_ballast_inodes $(( -delta < ballast_files ? -delta : ballast_files ))
  fi
}

adjust_byte_ballast() {
  local delta size target pass
  for pass in 1 2 3; do
    measure
    if (( DISK_BYTES == 0 )); then
      rm -f "${DISK_ADMIN:?}/$BALLAST"
      return
    fi
    # Positive: the container could write more than allowed.
    delta=$(( avail_blocks * fs_block_size - (DISK_BYTES - used_bytes) ))
    delta=$(( delta / fs_block_size * fs_block_size ))
    (( delta != 0 )) || return 0
    size=0
    [[ ! -e $DISK_ADMIN/$BALLAST ]] || size=$(stat -c %s "$DISK_ADMIN/$BALLAST")
    target=$(( size + delta ))
    (( target >= 0 )) || target=0
    if (( delta > 0 )); then
      fallocate -o "$size" -l "$delta" "$DISK_ADMIN/$BALLAST" \
        || fail 3 "the container uses more than $DISK_BYTES bytes"
    else
      truncate -s "$target" "$DISK_ADMIN/$BALLAST"
    fi
  done
}

do_limit() {
  require_vars DISK_IMAGE DISK_ADMIN DISK_BYTES DISK_INODES DISK_BASE_BYTES DISK_BASE_INODES
  require_number DISK_BYTES DISK_INODES DISK_BASE_BYTES DISK_BASE_INODES
  in_private_namespace limit
  local device short_bytes=0 short_inodes=0
  mount_admin
  device=$(admin_device)
  # The device must still be this image's (not one freed and reused meanwhile).
  [[ $(backing_identity "$device") == "$(file_identity "$DISK_IMAGE")" ]] \
    || fail 1 "$device is not backed by $DISK_IMAGE"
  measure
  if (( DISK_BYTES > 0 && used_bytes > DISK_BYTES )); then
    fail 3 "the container uses $used_bytes bytes, more than the requested limit of $DISK_BYTES bytes"
  fi
  if (( DISK_INODES > 0 && used_inodes > DISK_INODES )); then
    fail 3 "the container uses $used_inodes inodes, more than the requested limit of $DISK_INODES inodes"
  fi
  # What the limits need beyond what the image holds without any ballast.
  (( DISK_BYTES == 0 )) \
    || short_bytes=$(( DISK_BYTES - used_bytes - (avail_blocks * fs_block_size + ballast_bytes) ))
  (( DISK_INODES == 0 )) \
    || short_inodes=$(( DISK_INODES - used_inodes - (free_inodes + ballast_inodes) ))
  if (( short_bytes > 0 || short_inodes > 0 )); then
    grow_image "$device" $(( short_bytes > 0 ? short_bytes : 0 )) $(( short_inodes > 0 ? short_inodes : 0 ))
  fi
  if project_quota; then
    set_project_limits "$DISK_BYTES" "$DISK_INODES" || fail 1 "cannot set the project quota of $DISK_IMAGE"
    report "$device"
    return
  fi
  # The byte ballast's own inode and the inode ballast's directory blocks
  # count in the other limit: make the file first, fill it last.
  if (( DISK_BYTES > 0 )); then
    touch "$DISK_ADMIN/$BALLAST"
  else
    rm -f "$DISK_ADMIN/$BALLAST"
  fi
  adjust_inode_ballast
  adjust_byte_ballast
  report "$device"
}

# is_mounted DIR: whether DIR (as given: absolute) is a mount point here, from
# /proc/self/mountinfo (octal escapes decoded); no process.
is_mounted() {
  local -a fields
  local point all needle=$1
  # Usually nothing is: one read of the whole table and one match say so
  # (a read a line at a time costs a re-read of the table per line, as
  # mountinfo is made anew at each read: 2 ms with 26 mounts). Only a
  # match is checked field by field (mountinfo escapes these four).
  IFS= read -r -d '' all < /proc/self/mountinfo || true
  needle=${needle//\\/\\134}
  needle=${needle// /\\040}
  needle=${needle//$'\t'/\\011}
  needle=${needle//$'\n'/\\012}
  [[ $all == *" $needle "* ]] || return 1
  while read -r -a fields; do
    printf -v point '%b' "${fields[4]//\\/\\0}"
    [[ $point == "$1" ]] && return 0
  done < /proc/self/mountinfo
  return 1
}

# Every image's loop device clears itself when its last mount goes (the
# container's, with its mount namespace): the start hook sets that flag with
# losetup -d right after its mount, this script's own mounts are mount(8)'s
# -o loop. Only a device without that flag (a start killed between its
# losetup and its mount, or one attached by hand) needs losetup,
# which looks at every loop device of the host: with a thousand containers,
# seconds. The flags come from sysfs, without a process.
do_destroy() {
  require_vars DISK_IMAGE
  local device flag
  local -a manual=()
  if [[ -n "${DISK_MOUNT:-}" ]] && is_mounted "$DISK_MOUNT"; then
    umount -l "$DISK_MOUNT"
  fi
  if [[ -e $DISK_IMAGE ]]; then
    # The devices in use only: /proc/partitions lists a loop device while it
    # is bound to a file (of a size above zero, as every image is), where a
    # glob of /sys/block/loop* looks at every device ever made (loop devices
    # stay once made: 1,000 of them cost 10 ms of system time per destroy).
    # Read at once, not a line at a time: each line read seeks back, and
    # each seek makes the kernel walk every block device again (100 bound
    # devices among 1,000 made: 100 walks of 1,000 per destroy).
    local table name
    IFS= read -r -d '' table < /proc/partitions || true
    while [[ $table == *' loop'* ]]; do
      table=${table#*' loop'}
      name=loop${table%%[!0-9]*}
      read -r device < "/sys/block/$name/loop/autoclear" 2>/dev/null || continue
      [[ $device == 1 ]] || manual+=("$name")
    done
    if (( ${#manual[@]} > 0 )); then
      # A device still mounted somewhere is only marked autoclear by -d.
      for device in $(losetup -n -O NAME -j "$DISK_IMAGE"); do
        losetup -d "$device" 2>/dev/null || true
      done
    fi
  fi
  # The caller removes the directory that holds them next.
  [[ -z ${DISK_REMOVED_WITH:-} || $DISK_IMAGE != "$DISK_REMOVED_WITH"/* ]] || return 0
  # One rm for both, and none when neither is there.
  local -a files=()
  for flag in "$DISK_IMAGE" "$DISK_IMAGE.prjquota"; do
    [[ ! -e $flag ]] || files+=("$flag")
  done
  (( ${#files[@]} == 0 )) || rm -f -- "${files[@]}"
}

probe_cleanup() {
  umount -n "$DISK_ADMIN" 2>/dev/null || true
  rm -f "$DISK_IMAGE"
  rmdir "$DISK_ADMIN" 2>/dev/null || true
}

# A tiny image with project quotas: made, mounted with prjquota, a directory
# given a project and a limit; supported if statfs of that directory then
# shows the limit as its size. Everything goes when this exits.
do_probe() {
  require_vars DISK_IMAGE DISK_ADMIN
  in_private_namespace probe
  local block_size blocks
  DISK_PROJECT_QUOTA=1
  trap probe_cleanup EXIT
  (make_filesystem "$DISK_IMAGE" $(( 64 << 20 )) 64) >/dev/null 2>&1 \
    || fail $EXIT_NO_PROJECT_QUOTA "mkfs.ext4 cannot make project quotas"
  [[ -d $DISK_ADMIN ]] || mkdir -p "$DISK_ADMIN"
  mount -n -o "$MOUNT_OPTIONS,prjquota" "$DISK_IMAGE" "$DISK_ADMIN" 2>/dev/null \
    || fail $EXIT_NO_PROJECT_QUOTA "the kernel cannot mount ext4 with project quotas"
  mkdir "$DISK_ADMIN/probe"
  chattr +P -p "$PROJECT_ID" "$DISK_ADMIN/probe" 2>/dev/null \
    || fail $EXIT_NO_PROJECT_QUOTA "chattr cannot set a project"
  set_project_limits $(( 1 << 20 )) 0 2>/dev/null \
    || fail $EXIT_NO_PROJECT_QUOTA "xfs_quota cannot set an ext4 project quota"
  read -r block_size blocks < <(stat -f -c '%S %b' "$DISK_ADMIN/probe")
  (( block_size * blocks == 1 << 20 )) || fail $EXIT_NO_PROJECT_QUOTA "statfs does not report the project quota"
  echo "project_quota=1"
}

case "${1:-}" in
  create) do_create ;;
  mount) do_mount ;;
  limit) do_limit ;;
  destroy) do_destroy ;;
  probe) do_probe ;;
  *) fail 1 "usage: $0 create|mount|limit|destroy|probe (see the comments at the top)" ;;
esac
