# Entering a running container from the host: job.sh and copy.sh source
# this. Sourced at top level (etc/config's arrays must stay global).

# container_user USER: set ENTER_USER, ENTER_UID, ENTER_HOME and ENTER_PATH
# for vcap or root, as the original's wshd gave them.
container_user() {
  ENTER_USER=$1
  case $1 in
    vcap) ENTER_UID=$user_uid ENTER_HOME=/home/vcap ENTER_PATH=/bin:/usr/bin ;;
    root) ENTER_UID=0 ENTER_HOME=/root ENTER_PATH=/sbin:/bin:/usr/sbin:/usr/bin ;;
    *) fail enter "user must be vcap or root: $1" ;;
  esac
}

# check_init: set INIT_PID from run/init.pid, and check that this pid is
# still the container's init (it is in the container's freezer cgroup), so
# that a recycled pid never lets anyone into someone else's namespaces.
check_init() {
  local cgroups=""
  [[ -f $container/run/init.pid ]] || fail enter "container is not running"
  read -r INIT_PID < "$container/run/init.pid"
  read -r -d '' cgroups < "/proc/$INIT_PID/cgroup" 2>/dev/null || true
  [[ $cgroups == *":freezer:/$cgroup_parent/instance-$id"$'\n'* ]] \
    || fail enter "container is not running (its init $INIT_PID is gone)"
}

# join_cgroups: move the calling (sub)shell into the container's cgroups;
# what it execs next counts towards the container's limits, and stop and
# destroy find it. "0" into tasks moves the writing thread itself, which
# the kernel does without the global lock (and its RCU grace period) that
# moving another process through cgroup.procs takes: a shell has one thread.
join_cgroups() {
  local dir
  for dir in "${cgroup_dirs[@]}"; do
    echo 0 > "$dir/tasks" || fail enter "cannot join $dir"
  done
}

# enter_argv: set ENTER_ARGV to the command that runs a program in the
# container (all its namespaces, its root, cwd the user's home) as the user
# container_user chose, without supplementary groups, with HOME, USER, PATH
# (and LANG when set) as its only environment: nothing of the server's
# environment reaches the container.
enter_argv() {
  ENTER_ARGV=(/usr/bin/env -i "HOME=$ENTER_HOME" "USER=$ENTER_USER" "PATH=$ENTER_PATH")
  [[ -z ${LANG:-} ]] || ENTER_ARGV+=("LANG=$LANG")
  ENTER_ARGV+=(/usr/bin/nsenter --target "$INIT_PID" --mount --uts --ipc --net --pid --root
               "--wdns=$ENTER_HOME" --setuid "$ENTER_UID" --setgid "$ENTER_UID" --)
}
