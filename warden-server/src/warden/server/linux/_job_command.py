# -*- test-case-name: tests.test_job_command,tests_linux.test_jobs -*-
"""A Linux job's command line, built in the server: keeper, warden-exec, bash.

The server starts ``bin/warden-keeper`` itself (through its spawner), with
the job's script as stdin: no bash wrapper on the request path. The argv is
what ``root-scripts/linux/job.sh`` execs (``../common/keeper.sh`` and
``lib/enter.sh`` build it there): the script is the manual equivalent, and
``tests_linux/test_jobs.py`` compares the two for a live job.

- ``keeper_argv``: the keeper's options from the job's wrapper environment
  (``DISCARD_OUTPUT``, ``OUTPUT_LIMIT``, ``JOB_STDIN``, ``JOB_TTY``), as
  ``keeper_argv`` in keeper.sh;
- ``enter_argv``: warden-exec's options (the container's init and cgroups,
  the user, the hardening options), as ``enter_argv`` in enter.sh;
- ``job_argv``: both, joined as job.sh joins them (``--pty-root`` and
  ``--no-ctty`` for a terminal, ``--pid-file JOB_DIR/pid``, ``/bin/bash``).

The rlimits and ``LANG`` reach warden-exec through the environment
(``RLIMIT_<NAME>``), as before.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["EnterOptions", "enter_argv", "job_argv", "keeper_argv"]

KEEPER = "warden-keeper"
EXEC = "warden-exec"


@dataclass(frozen=True)
class EnterOptions:
    """What warden-exec needs to enter a running container.

    ``init_pid``: the container's init (checked by the caller to be in
    ``cgroup_member``; warden-exec checks again); ``uid``: the pool uid of
    vcap, or 0; ``caps``, ``no_new_privs`` and ``seccomp``: the server's
    hardening options (``caps`` and ``no_new_privs`` apply to root only).
    """

    init_pid: int
    cgroup_member: str
    cgroup_dirs: Sequence[str]
    uid: int
    caps: str = "default"
    no_new_privs: bool = True
    seccomp: bool = True


def keeper_argv(bin_dir: str, env: Mapping[str, str]) -> list[str]:
    """warden-keeper and its options, without ``-- PROGRAM`` (keeper.sh's ``keeper_argv``)."""
    argv = [os.path.join(bin_dir, KEEPER)]
    if env.get("DISCARD_OUTPUT", "false") == "true":
        argv.append("--discard")
    elif env.get("OUTPUT_LIMIT"):
        argv += ["--limit", env["OUTPUT_LIMIT"]]
    else:
        argv.append("--unbounded")
    if env.get("JOB_TTY"):
        argv += ["--tty", env["JOB_TTY"]]
    elif env.get("JOB_STDIN", "false") == "true":
        argv.append("--stdin")
    argv.append(env["JOB_DIR"])
    return argv


def enter_argv(bin_dir: str, options: EnterOptions) -> list[str]:
    """warden-exec and its options, without ``-- PROGRAM`` (enter.sh's ``enter_argv``)."""
    argv = [
        os.path.join(bin_dir, EXEC),
        "--target", str(options.init_pid),
        "--target-cgroup", options.cgroup_member,
        *(f"--cgroup={path}" for path in options.cgroup_dirs),
        "--uid", str(options.uid),
        "--gid", str(options.uid),
    ]  # fmt: skip
    if options.uid == 0:
        argv += ["--caps", options.caps or "default"]
        if not options.no_new_privs:
            argv.append("--allow-new-privs")
    if not options.seccomp:
        argv.append("--no-seccomp")
    return argv


def job_argv(bin_dir: str, env: Mapping[str, str], options: EnterOptions) -> list[str]:
    """The whole command job.sh execs: the keeper running warden-exec running bash."""
    keeper = keeper_argv(bin_dir, env)
    enter = enter_argv(bin_dir, options)
    if env.get("JOB_TTY"):
        # The terminal comes from the container's own devpts; warden-exec
        # makes it the controlling one inside the container.
        keeper[1:1] = ["--pty-root", f"/proc/{options.init_pid}/root", "--no-ctty"]
        enter.append("--tty")
    pid_file = os.path.join(env["JOB_DIR"], "pid")
    return [*keeper, "--", *enter, "--pid-file", pid_file, "--", "/bin/bash"]
