"""Process-wide set-up done once by the entry points (CLI and window)."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_THRESHOLD = 256 * 1024 * 1024
_done = False


def tune_memory() -> bool:
    """Keep freed image-sized buffers in the process instead of handing them back to the kernel (glibc only).

    The painter allocates and frees many full-size float32 planes (16 MB at 2048², 50 MB for RGB). By default
    glibc serves each one with a fresh mmap, and the kernel zero-fills every page again: measured here, the
    first paint of the demo town at 2048² took 2.6–2.9 s with the defaults and 2.2 s with buffers up to
    256 MB reused. Buffers above 256 MB (8192² and up) still come from mmap and go straight back.
    """
    global _done
    if _done or not sys.platform.startswith("linux"):
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: nothing to tune
        return False
    _done = bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _THRESHOLD))
    return _done


def release_memory() -> None:
    """Hand the heap's free pages back to the kernel (glibc's malloc_trim): after a print-size stage, the buffers it
    freed under tune_memory's threshold (a mask is 70 MB at A1) would stay resident until reused. Else a no-op."""
    if not _done:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
