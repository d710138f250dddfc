"""The server keeps freed memory for the next large response (``_malloc``)."""

from __future__ import annotations

import subprocess
import sys

# Four buffers of 1 MiB made and freed, as a Run printing 1 MiB does, then
# the minor page faults of 20 more rounds.
_ROUNDS = """
import resource, sys
from warden.server._malloc import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def round_():
    data = bytes(1 << 20)
    copies = [bytearray(data), bytes(bytearray(data)), data + b"x"]
    del copies, data
round_()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    round_()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _ROUNDS, mode], capture_output=True, text=True,
                          check=True, timeout=60)  # fmt: skip
    return int(done.stdout)


def test_large_buffers_are_not_faulted_in_again() -> None:
    # Without the thresholds each round maps its buffers afresh (over a
    # thousand faults a round); with them the heap's pages are reused (about
    # ten a round: the interpreter's own).
    assert _faults("default") > 20 * 500
    assert _faults("keep") < 20 * 50
