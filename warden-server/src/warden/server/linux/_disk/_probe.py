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

#: How long the probe may take (seconds) before it is ended and the ballast chosen:
#: a mount that hangs (a stuck loop device, a broken kernel module) must not hold
#: the server's start for ever. The probe takes well under a second here, some
#: seconds in an emulated machine.
PROBE_TIMEOUT = 120.0

#: ``timeout``'s exit status when it ended the command.
_TIMED_OUT = 124


async def detect_project_quota(
    script: Path, run: RunCommand, scratch_parent: Path, *, timeout: float = PROBE_TIMEOUT
) -> tuple[bool, str]:
    """Run ``disk.sh probe`` in a scratch directory under ``scratch_parent``; remember the answer.

    Returns whether project quotas can be used and, if not, why (the probe's
    last word). Any failure of the probe leaves the ballast, which works
    everywhere; so does a probe still running after ``timeout`` seconds
    (ended with SIGTERM, then SIGKILL 5 seconds later).
    """
    global _supported
    scratch = Path(tempfile.mkdtemp(prefix=".disk-probe-", dir=scratch_parent))
    try:
        result = await run(
            ["timeout", "--kill-after=5", f"{timeout:g}", str(script), "probe"],
            env={"DISK_IMAGE": scratch / "probe.img", "DISK_ADMIN": scratch / "mnt"},
            check=False,
        )
    except Exception as problem:  # the script could not even start: the ballast, then
        _supported = False
        return False, str(problem)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _supported = result.exit_code == 0
    if result.exit_code == _TIMED_OUT:
        return False, f"the probe did not finish within {timeout:g} s"
    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    reason = lines[-1].removeprefix("disk: ") if lines else f"exit {result.exit_code}"
    return _supported, "" if _supported else reason


def project_quota_supported() -> bool:
    """The last detection's answer (False before any)."""
    return _supported
