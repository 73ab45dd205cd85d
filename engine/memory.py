"""Process-wide heap settings for work that allocates and frees large buffers over and over.

glibc's ``malloc`` serves a block above its mmap threshold with a mapping of its own that goes back to
the system when freed; smaller blocks come from the heap. The threshold starts at 128 KiB but is
*dynamic*: each freed mapped block raises it to that block's size (up to 32 MiB), after which every
tensor of a few MiB is carved from the heap, and a heap freed in the middle stays resident. A network
run segment after segment (demucs: 60-odd intermediate tensors of 1-60 MiB per forward) so keeps a
high-water mark far above what it holds at any moment: one htdemucs forward on a 7.8-s segment peaks
about 300 MB higher with the dynamic threshold than with a fixed one.

:func:`bound_heap` fixes the threshold (which also stops its growth) and the trim threshold, once per
process; it does nothing where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

#: mallopt(3) parameters (glibc <malloc.h>).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

#: Blocks from this size up are mapped and unmapped on their own: larger than the many small allocations
#: of Python and numpy, smaller than the per-layer tensors of a network forward.
MMAP_THRESHOLD = 1 << 20
#: Free heap above this much at the top is returned to the system.
TRIM_THRESHOLD = 1 << 20

_applied: dict[str, int] | None = None


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    # glibc only (musl has no thresholds to set)
    return libc if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt") else None


def bound_heap() -> dict[str, int]:
    """Fix glibc's mmap and trim thresholds for this process (idempotent); returns what was set
    (empty where the C library is not glibc or refused)."""
    global _applied
    if _applied is not None:
        return _applied
    libc = _libc()
    applied: dict[str, int] = {}
    if libc is not None:
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
        for name, param, value in (("mmap_threshold", M_MMAP_THRESHOLD, MMAP_THRESHOLD),
                                   ("trim_threshold", M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
            if libc.mallopt(param, value) == 1:
                applied[name] = value
            else:
                log.warning("mallopt(%s, %d) refused", name, value)
    _applied = applied
    return applied


def heap_bounds() -> dict[str, int] | None:
    """What :func:`bound_heap` set in this process, or ``None`` before it ran."""
    return _applied
