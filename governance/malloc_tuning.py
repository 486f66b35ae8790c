"""glibc's malloc, told to hand large freed blocks back to the system at once.

glibc serves a block above its mmap threshold with a mapping of its own, and unmaps it
when it is freed. But freeing such a block also *raises* the threshold to the block's size
(up to 32 MiB), and the trim threshold to twice that: from then on blocks of up to that
size come from the heap, and their pages stay with the process once freed. A web worker
that read one large value (the resident copy of the exclusions is built from 30 MB
strings; a cold export page is a few MB) thus kept tens of MB it no longer used: 34-60 MB
of worker RSS growth in the export benchmark (docs/benchmarks.md). Setting the thresholds
explicitly turns that adjustment off. At glibc's default of 128 KiB every export page
would be mapped and unmapped (page faults on every fresh page: exports derived from a
file took twice as long); at 4 MiB blocks up to a page's size are reused from the heap,
larger ones go back at once: the export benchmark then ran as fast as with the
adjustment, with 11 MB of growth.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1  # glibc's malloc.h
M_MMAP_THRESHOLD = -3
DEFAULT_THRESHOLD = 4 * 2**20


def malloc_thresholds_fixed(threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Fix both thresholds in this process (and the processes it forks later); ``False``
    where the C library is not glibc, which has no such adjustment to turn off."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, threshold)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, threshold)
    )
