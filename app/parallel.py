"""The process's compute threads: one per core (at most four), shared by the painter's bands
(app/styles/filters.each_band) and the PNG encoder's deflate pieces (app/export/pngencode.py).

numpy and zlib let go of the GIL while they compute, so work split into independent pieces runs on every core.
Work that a pool thread hands to the pool runs in that thread instead, in turn: a pool thread never waits on the
pool (no deadlock however deep the nesting). Numpy only: importing this imports nothing heavy.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

THREADS = max(1, min(4, os.cpu_count() or 1))
_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_local = threading.local()  # .inside: this thread is one of the pool's


def _mark_inside() -> None:
    _local.inside = True


def in_pool() -> bool:
    """Whether the calling thread is one of the pool's."""
    return getattr(_local, "inside", False)


def pool() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(THREADS, "mapbrush-compute", initializer=_mark_inside)
        return _pool


def shutdown() -> None:
    """Let the threads go (tests that change THREADS); the next use starts new ones."""
    global _pool
    with _lock:
        old, _pool = _pool, None
    if old is not None:
        old.shutdown()


def _forget() -> None:  # in a forked child: the parent's threads are not there
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)


def parallel() -> bool:
    """Whether work handed out now would run on several threads."""
    return THREADS > 1 and not in_pool()


def map_all(fn: Callable, items: Iterable) -> list:
    """`[fn(x) for x in items]` on the pool's threads, in order; the first exception raised is raised here."""
    todo = list(items)
    if len(todo) < 2 or not parallel():
        return [fn(x) for x in todo]
    return list(pool().map(fn, todo))


def submit(fn: Callable, *args) -> Future:
    """`fn(*args)` on the pool, or now in this thread (a done Future) where the work would not run in parallel."""
    if parallel():
        return pool().submit(fn, *args)
    f: Future = Future()
    try:
        f.set_result(fn(*args))
    except BaseException as e:  # handed back through the Future, as the pool would
        f.set_exception(e)
    return f
