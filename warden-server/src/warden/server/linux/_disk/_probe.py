"""Whether this host's kernel and tools can limit a loop image by ext4 project quota.

Detected once, at server start (``disk.sh probe`` makes, mounts and limits a
tiny image in a private mount namespace), and remembered for the life of the
process: requests only read the answer. Where it holds, new images are made
with project quotas (see ``disk.sh``): the kernel enforces the limits and
``df /`` in the container shows the byte limit as the size.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ._backend import RunCommand

__all__ = ["detect_project_quota", "project_quota_supported"]

_supported = False


async def detect_project_quota(
    script: Path, run: RunCommand, scratch_parent: Path
) -> tuple[bool, str]:
    """Run ``disk.sh probe`` in a scratch directory under ``scratch_parent``; remember the answer.

    Returns whether project quotas can be used and, if not, why (the probe's
    last word). Any failure of the probe leaves the ballast, which works
    everywhere.
    """
    global _supported
    scratch = Path(tempfile.mkdtemp(prefix=".disk-probe-", dir=scratch_parent))
    try:
        result = await run(
            [str(script), "probe"],
            env={"DISK_IMAGE": scratch / "probe.img", "DISK_ADMIN": scratch / "mnt"},
            check=False,
        )
    except Exception as problem:  # the script could not even start: the ballast, then
        _supported = False
        return False, str(problem)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _supported = result.exit_code == 0
    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    reason = lines[-1].removeprefix("disk: ") if lines else f"exit {result.exit_code}"
    return _supported, "" if _supported else reason


def project_quota_supported() -> bool:
    """The last detection's answer (False before any)."""
    return _supported
