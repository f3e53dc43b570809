"""Handing the heap's freed pages back to the operating system between a run's phases.

Loading a market builds the per-symbol bars and the aligned frame (a year: ~45 MB of
short-lived arrays); finishing a run drops the frame, the feed and the features. The C
allocator keeps most of what Python and NumPy free for reuse, so the process's resident
memory stays at its high-water mark. ``malloc_trim`` (glibc) returns the free pages; it
changes no value, only what the process holds. Elsewhere (macOS, musl) it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import sys
from collections.abc import Callable

logger = logging.getLogger(__name__)


def release_freed_memory() -> None:
    """Return the heap's free pages to the operating system (glibc only; else nothing)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError as exc:
        logger.debug("no C library to trim the heap with: %s", exc)
        return None
    trim: Callable[[int], int] | None = getattr(libc, "malloc_trim", None)
    if trim is None:
        logger.debug("the C library has no malloc_trim (not glibc): the heap is not trimmed")
    return trim
