# -*- test-case-name: tests.test_malloc -*-
"""Keep freed memory for the next large response instead of returning it.

A Run printing 1 MiB makes a few buffers of that size on the reactor (the
output read back, the message, its encoding). glibc's malloc hands blocks
that large back to the kernel when they are freed (``munmap``, or a trim of
the heap past ``M_TRIM_THRESHOLD``, which its own adjustment leaves at twice
the largest block), so every such Run faulted in its buffers page by page
again: about a thousand page faults and 2 ms of the server's CPU per MiB on
this machine, more than the copies themselves. With fixed thresholds blocks
up to ``MMAP_THRESHOLD`` come from the heap, and up to ``TRIM_THRESHOLD`` of
free memory at its top stays mapped for the next one.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory"]

#: Blocks below this come from the heap (the default output limit is 10 MiB).
MMAP_THRESHOLD = 16 * 1024 * 1024
#: Free memory kept at the top of the heap, at most.
TRIM_THRESHOLD = 32 * 1024 * 1024

# <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory() -> bool:
    """Set glibc's thresholds (see the module docstring); False where
    ``mallopt`` is not there (another C library) or refuses them."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
