#!/bin/bash
# Create a container directory from the skeleton (as root).
#
#   id=abc network_host_ip=10.254.0.1 network_container_ip=10.254.0.2 \
#   user_uid=10000 rootfs_path=/var/lib/warden/rootfs cgroup_parent=warden \
#   ./create.sh /var/lib/warden/containers/abc
#
# Makes PATH from the layout template (see layout_template; the skeleton and
# lib/common.sh when there is none), then runs PATH/setup.sh with
# this environment, which writes PATH/etc/config and the container's
# writable layer (see skeleton/setup.sh for every variable); with DISK_IMAGE
# set, also the disk layer (disk.sh create, its environment and its output).
# Prints PATH last.
# Nothing is mounted and nothing runs yet: PATH/start.sh does that.
set -o nounset -o errexit -o pipefail
[[ -n "${DEBUG:-}" ]] && set -o xtrace
[[ $0 != */* ]] || cd "${0%/*}"  # the script's own directory (no dirname process)
source lib/common.sh
shopt -s inherit_errexit

(( $# == 1 )) || fail create "usage: $0 PATH"
target=$1
[[ ! -e $target ]] || fail create "\"$target\" already exists, aborting..."

# The layout (the skeleton, lib/common.sh and what setup.sh makes from the
# rootfs alone) is made once per rootfs, in the depot's .container-templates
# (a dot entry: not a container), and copied by one cp at each create
# instead of some ten programs. A template older than these scripts, the
# skeleton or the rootfs's files it was made from is made again. Concurrent
# creates may each make one: each is renamed into place when none is there.
readonly TEMPLATES=${target%/*}/.container-templates

# template_is_current DIR: DIR was made after every file it was made from.
template_is_current() {
  local stamp=$1/lib/common.sh source
  [[ -f $stamp ]] || return 1
  for source in create.sh lib/common.sh skeleton skeleton/* skeleton/lib/* \
      "$rootfs_path" "$rootfs_path"/etc "$rootfs_path"/etc/{passwd,group,shadow} \
      "$rootfs_path"/etc/skel "$rootfs_path"/etc/skel/* "$rootfs_path"/{home,root}; do
    [[ ! -e $source || $stamp -nt $source ]] || return 1
  done
}

# make_template DIR: the skeleton and the layout for this rootfs in DIR.
# Its lib/common.sh dates it (template_is_current); it is renamed into
# place only once this has succeeded.
make_template() {
  cp -a skeleton "$1" || fail create "cannot copy the skeleton to $1"
  # lib/common.sh copied by bash (no cp): read whole, written as it was.
  local common
  IFS= read -r -d '' common < lib/common.sh || true
  printf '%s' "$common" > "$1/lib/common.sh"
  ( setup_part=layout; source "$1/setup.sh" )
}

# remove_abandoned: the partial templates of creates that were killed (a
# trap cannot run on SIGKILL), named by their builder's pid: gone when it is.
remove_abandoned() {
  local entry
  for entry in "$TEMPLATES"/.new.* "$TEMPLATES"/.old.*; do
    [[ ! -e $entry || -d /proc/${entry##*.} ]] || rm -rf "$entry"
  done
}

# layout_template: the current template's path for this rootfs (made now if
# there is none); empty when the rootfs has no name short enough for one.
# Run in a command substitution, which keeps errexit (inherit_errexit).
layout_template() {
  local key=${rootfs_path//%/%25}
  key=${key//\//%2F}
  (( ${#key} <= 200 )) || return 0
  # Named by create.sh's own pid ($$, not this subshell's): a partial
  # template is abandoned only once the create that may still be copying it
  # has ended.
  local template=$TEMPLATES/$key new=$TEMPLATES/.new.$$
  if ! template_is_current "$template"; then
    [[ -d $TEMPLATES ]] || mkdir -m 0700 "$TEMPLATES" 2>/dev/null || [[ -d $TEMPLATES ]] \
      || fail create "cannot make $TEMPLATES"
    # Not in a condition (bash would ignore errexit in all of setup.sh):
    # a failure ends this subshell, and the trap removes what it made.
    # shellcheck disable=SC2064  # expanded now: the locals are gone at exit
    trap "rm -rf ${new@Q}; rmdir ${TEMPLATES@Q} 2>/dev/null" EXIT
    make_template "$new"
    trap - EXIT
    if template_is_current "$template"; then
      rm -rf "$new"  # another create's, made meanwhile
    else
      # A stale one is renamed away first; a create still copying it falls
      # back to the skeleton (below).
      [[ ! -e $template ]] || mv -T "$template" "$TEMPLATES/.old.$$" 2>/dev/null || true
      if ! mv -T "$new" "$template" 2>/dev/null; then
        # Another create's was put in place meanwhile: that one, if current.
        if template_is_current "$template"; then rm -rf "$new"; else template=$new; fi
      fi
      rm -rf "$TEMPLATES/.old.$$"
    fi
    remove_abandoned
  fi
  echo "$template"
}

# start.sh's helper, by its path in these root scripts. setup.sh is sourced
# in a subshell (it keeps its own options, directory and variables there):
# a fork instead of a new bash.
(
  warden_start=$PWD/bin/warden-start
  rootfs_path=${rootfs_path:-}
  template=$(layout_template)
  # The template's scripts, lib/ and link to the rootfs as hard links (host
  # files no container can reach: no new inode each), its writable layer
  # (tmp/rootfs, the container's to change) as copies, vcap's home already
  # vcap's: one static program instead of cp -a and chown -R.
  if [[ -n $template ]] && "$warden_start" --clone "$template" "$target" --copy tmp/rootfs \
      --owner tmp/rootfs/home/vcap "${user_uid:-}"; then
    setup_part=container vcap_home_owned=true
  else
    vcap_home_owned=false
    [[ -z $template ]] || rm -rf "$target"
    cp -a skeleton "$target" || fail create "cannot copy the skeleton to $target"
    IFS= read -r -d '' common < lib/common.sh || true
    printf '%s' "$common" > "$target/lib/common.sh"
  fi
  [[ $template != */.new.* ]] || rm -rf "$template"
  source "$target/setup.sh"
)
# The disk layer (loop disk limits: the server gives DISK_IMAGE and the rest
# of disk.sh's environment) is disk.sh's create, sourced in a subshell as
# setup.sh is: a fork instead of a third bash. Its key=value lines go to
# stdout before PATH. Its status is taken with errexit off here (in a
# condition, bash would ignore errexit in all of disk.sh); a failure ends
# with disk.sh's status and a last line that names the step for the server.
if [[ -n ${DISK_IMAGE:-} ]]; then
  set +o errexit
  ( set -o errexit; shopt -u inherit_errexit; source "$PWD/disk.sh" create )
  status=$?
  set -o errexit
  (( status == 0 )) || { echo "create: disk.sh create failed" >&2; exit "$status"; }
fi
echo "$target"
