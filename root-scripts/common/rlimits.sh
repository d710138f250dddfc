# shellcheck shell=bash
# rlimits.sh: apply a job's resource limits with ulimit builtins, in this shell.
#
# Reads RLIMIT_<NAME>=<value> for the names of the protocol's ResourceLimits
# (AS, CORE, CPU ... STACK). Values are in the protocol's units (bytes,
# seconds, counts) or "unlimited"; they are converted to ulimit's units here.
# A limit that cannot be set is reported on stderr (the job's stderr) and the
# job runs without it, as the original's helper did.

apply_rlimits() {
  local spec name flag scale var value
  # name:ulimit flag:bytes per ulimit unit
  for spec in as:v:1024 core:c:1024 cpu:t:1 data:d:1024 fsize:f:1024 locks:x:1 \
      memlock:l:1024 msgqueue:q:1 nice:e:1 nofile:n:1 nproc:u:1 rss:m:1024 \
      rtprio:r:1 sigpending:i:1 stack:s:1024; do
    IFS=: read -r name flag scale <<< "$spec"
    var=RLIMIT_${name^^}
    value=${!var:-}
    [ -n "$value" ] || continue
    if [ "$value" != unlimited ]; then
      if ! [[ $value =~ ^[0-9]+$ ]]; then
        echo "rlimits: $var must be a number or 'unlimited', got '$value'" >&2
        continue
      fi
      value=$(( value / scale ))
    fi
    # Both soft and hard; when raising the hard limit is not allowed, the soft one.
    ulimit -"$flag" "$value" 2>/dev/null \
      || ulimit -S -"$flag" "$value" 2>/dev/null \
      || echo "rlimits: cannot set $name to ${!var}" >&2
  done
}
