#!/bin/bash
# Floor for run: enter a running container's namespaces as an unprivileged
# user and run SCRIPT (default: true) in bash. Usage: run.sh DIR [SCRIPT]
set -o nounset -o errexit -o pipefail
read -r pid < "$1/pid"
exec nsenter -t "$pid" -m -u -i -n -p -S 10000 -G 10000 /bin/bash -c "${2:-true}"
