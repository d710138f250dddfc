"""warden-exec against nsenter: the cost of starting `true` in a running container.

The target is the one warden-exec's tests use (a tiny root, PID 1 of its own
mount, UTS, IPC, network and PID namespaces, in a private network namespace).
Both are started the same way (subprocess, no shell), so the difference is
theirs.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from _report import print_table, repeat, summarize, write_json

sys.path.insert(
    0, str(Path(__file__).resolve().parent.parent / "root-scripts/linux/src/warden-exec/tests")
)
from harness import (
    VCAP_UID,
    build_helper,
    build_probe,
    make_template,
    running_target,
    unique_name,
)

TIMES = 200
CONTROLLERS = ("cpu", "memory", "pids", "freezer")


def measure() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        helper = build_helper(Path(tmp) / "warden-exec")
        root = Path(tmp) / "root"
        Path(tmp).chmod(0o755)
        make_template(root, build_probe(Path(tmp) / "probe"))
        cgroups = [Path("/sys/fs/cgroup") / c / unique_name() for c in CONTROLLERS]
        for cgroup in cgroups:
            cgroup.mkdir()
        try:
            with running_target(root) as target:
                ids = str(VCAP_UID)
                exec_argv = [str(helper), "--target", str(target.pid), "--user", "vcap", "--"]
                nsenter_argv = [
                    "nsenter",
                    "-t",
                    str(target.pid),
                    "-m",
                    "-u",
                    "-i",
                    "-n",
                    "-p",
                    "-r",
                    "-w",
                    "-S",
                    ids,
                    "-G",
                    ids,
                ]
                joined = [arg for c in cgroups for arg in ("--cgroup", str(c))]
                cases = {
                    "warden-exec probe true (static)": [*exec_argv, "probe", "true"],
                    "nsenter probe true (static)": [*nsenter_argv, "/usr/bin/probe", "true"],
                    "warden-exec bash -c true": [*exec_argv, "/bin/bash", "-c", "true"],
                    "nsenter bash -c true": [*nsenter_argv, "/bin/bash", "-c", "true"],
                    "warden-exec + 4 cgroups, bash -c true": [
                        str(helper),
                        "--target",
                        str(target.pid),
                        "--user",
                        "vcap",
                        *joined,
                        "--",
                        "/bin/bash",
                        "-c",
                        "true",
                    ],
                }
                for name, argv in cases.items():
                    samples = repeat(lambda argv=argv: subprocess.run(argv, check=True), TIMES)
                    rows.append(
                        {
                            "figure": name,
                            "unit": "ms",
                            **{
                                k: v * 1000 if k != "n" else v
                                for k, v in summarize(samples).items()
                            },
                        }
                    )
        finally:
            for cgroup in cgroups:
                cgroup.rmdir()
    return rows


def main() -> None:
    rows = measure()
    print_table(
        "warden-exec vs nsenter (start `true` in a running container)",
        rows,
        ["figure", "unit", "min", "median", "p95", "n"],
    )
    write_json("warden_exec", rows)


if __name__ == "__main__":
    main()
