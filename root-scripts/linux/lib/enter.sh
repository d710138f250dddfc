# shellcheck shell=bash
# Entering a running container from the host: job.sh and copy.sh source
# this. Sourced at top level (etc/config's arrays must stay global).

# container_user USER: set ENTER_UID for vcap (the pool uid) or root. Numeric
# ids, so that a privileged job that edits the container's /etc/passwd cannot
# change who later jobs run as; their name and home still come from it.
container_user() {
  case $1 in
    vcap) ENTER_UID=$user_uid ;;
    root) ENTER_UID=0 ;;
    *) fail enter "user must be vcap or root: $1" ;;
  esac
}

# check_init: set INIT_PID from run/init.pid, and check that this pid is
# still the container's init (it is in the container's main cgroup:
# cgroup_member, v1's freezer line or v2's "0::" one), so that a recycled pid
# never lets anyone into someone else's namespaces.
check_init() {
  local cgroups=""
  cgroup_config_defaults
  [[ -f $container/run/init.pid ]] || fail enter "container is not running"
  read -r INIT_PID < "$container/run/init.pid"
  # IFS= keeps the final newline (v2's file is that one line).
  IFS= read -r -d '' cgroups < "/proc/$INIT_PID/cgroup" 2>/dev/null || true
  [[ $cgroups == *":$cgroup_member"$'\n'* ]] \
    || fail enter "container is not running (its init $INIT_PID is gone)"
}

# enter_argv: set ENTER_ARGV to the command (without "-- PROGRAM") that runs
# a program in the container: warden-exec (src/warden-exec/README.md), one static program that
# joins the container's cgroups, namespaces and root, and starts the program
# as the user container_user chose, with only fds 0-2, HOME, USER, PATH and
# LANG, the RLIMIT_* of this environment (the original wsh's defaults for the
# others), no_new_privs, a seccomp filter, and no capabilities (vcap) or the
# bounded set (root). Nothing of the server's environment reaches the
# container. What the server's configuration may loosen comes from the
# environment, safe when unset:
#   PRIVILEGED_CAPS          what a root job keeps: default, all, none or names
#   PRIVILEGED_NO_NEW_PRIVS  false: root jobs may gain privileges through execve
#   SECCOMP                  false: no seccomp filter
enter_argv() {
  local helper=$root_scripts/bin/warden-exec
  [[ -x $helper ]] || fail enter "$helper is missing: build it with make setup" \
    "(or make -C $root_scripts/src/warden-exec)"
  ENTER_ARGV=("$helper" --target "$INIT_PID" --target-cgroup "$cgroup_member"
              "${cgroup_dirs[@]/#/--cgroup=}" --uid "$ENTER_UID" --gid "$ENTER_UID")
  if [[ $ENTER_UID == 0 ]]; then
    ENTER_ARGV+=(--caps "${PRIVILEGED_CAPS:-default}")
    [[ ${PRIVILEGED_NO_NEW_PRIVS:-true} != false ]] || ENTER_ARGV+=(--allow-new-privs)
  fi
  [[ ${SECCOMP:-true} != false ]] || ENTER_ARGV+=(--no-seccomp)
}
