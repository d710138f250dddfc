# warden: one virtual environment for development, tox for the test matrix.
# Targets: setup, test, test-cgroup-v2, lint, type, proto, run, rootfs, bench, bench-scale, soak (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VENV := .venv
PY := $(VENV)/bin/python
PACKAGES := warden-protocol warden-client twisted-warden-client warden-server
# The extras each package is installed with in the development venv.
EXTRAS_warden-protocol := test
EXTRAS_warden-client := test,repl
EXTRAS_twisted-warden-client := test
EXTRAS_warden-server := test
# Command (or absolute path of a file) -> Debian package, installed only when missing.
SYSTEM_TOOLS := iptables:iptables debootstrap:debootstrap catatonit:catatonit \
	tini:tini mkfs.xfs:xfsprogs mkfs.ext4:e2fsprogs ip:iproute2 tc:iproute2 \
	nsenter:util-linux setpriv:util-linux tar:tar logger:bsdutils \
	gcc:gcc /usr/include/stdlib.h:libc6-dev /usr/include/linux/seccomp.h:linux-libc-dev \
	shellcheck:shellcheck
DEV_TOOLS := pytest hypothesis mypy ruff tox types-PyYAML types-protobuf grpcio-tools
# Every pip install below (build environments included) takes its version from here.
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt

.PHONY: setup system-packages venv helpers test lint lint-shell lint-c type proto run rootfs

setup: system-packages venv helpers

# The static C helpers in root-scripts (built into root-scripts/linux/bin/).
# Each folder's Makefile names its sources; the rules are root-scripts/linux/src/helper.mk.
HELPERS := warden-exec warden-keeper warden-start warden-spawner
helpers: system-packages
	for h in $(HELPERS); do $(MAKE) -C root-scripts/linux/src/$$h; done

system-packages:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  if [[ $$cmd == /* ]]; then [ -e $$cmd ] || missing="$$missing $$pkg"; continue; fi; \
	  command -v $$cmd >/dev/null 2>&1 || [ -x /usr/sbin/$$cmd ] || [ -x /sbin/$$cmd ] || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: constraints.txt $(foreach p,$(PACKAGES),$(wildcard $(p)/pyproject.toml))
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(DEV_TOOLS) $(foreach p,$(PACKAGES),$(if $(wildcard $(p)/pyproject.toml),-e ./$(p)[$(EXTRAS_$(p))]))
	touch $@

test: setup
	$(VENV)/bin/tox run

# The suites listed in warden-server/tests_cgroup_v2/suites.txt, inside a QEMU
# guest whose kernel has a pure cgroup v2 hierarchy (as root; the guest image
# is built once and cached under /var/cache/warden-cgroup-v2). Also part of
# `make test` as the tox environment cgroup-v2.
.PHONY: test-cgroup-v2
test-cgroup-v2: helpers
	warden-server/tests_cgroup_v2/run-suites.sh

lint: venv system-packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MAKE) -s lint-shell lint-c

# Every shell script of the backends (helpers they source are followed: -x).
SHELL_SCRIPTS = $(shell find root-scripts -name '*.sh' -not -path 'root-scripts/*/src/*' | sort)
lint-shell:
	shellcheck -x $(SHELL_SCRIPTS)
	@echo "shellcheck: $(words $(SHELL_SCRIPTS)) scripts clean"

# The static C helpers, compiled with the full warning set (helper.mk's lint).
lint-c:
	for h in $(HELPERS); do $(MAKE) -s -C root-scripts/linux/src/$$h lint; done

type: venv
	$(VENV)/bin/mypy $(wildcard */src)

proto: venv
	$(PY) warden-protocol/scripts/generate.py
	$(PY) warden-protocol/scripts/generate_methods.py

# The containers' root filesystem (Debian bookworm minbase), built once; the
# default configuration (warden-server/config/warden.yml) points at it.
ROOTFS := /var/lib/warden/rootfs
rootfs: system-packages
	root-scripts/linux/rootfs/setup.sh $(ROOTFS)

# The server on its default configuration (Linux backend, as root).
SERVER_CONFIG := warden-server/config/warden.yml
run: setup rootfs
	exec $(VENV)/bin/warden-server --config $(SERVER_CONFIG)

.PHONY: bench
# crun is the second reference (bench/crun_bench.py): Debian's package.
bench: setup
	command -v crun >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq crun >/dev/null; }
	$(PY) bench/run.py

# 1,000 containers alive on one server (bench/scale_bench.py; as root, in a
# private network namespace; long). WARDEN_SCALE_N=N for another count.
.PHONY: bench-scale
bench-scale: setup rootfs
	$(PY) bench/scale_bench.py

# 1,000 create/destroy cycles against a real server (as root, in a private
# network namespace); checks the machine is left as it was and prints a
# summary. Outside CI (not in tox's envlist). WARDEN_SOAK_CYCLES=N to change.
.PHONY: soak
soak: setup rootfs
	cd warden-server && ../$(VENV)/bin/pytest -q -s -p no:cacheprovider tests_abuse/soak.py
