"""Run plain work functions `fn(request, *, progress, cancel)` off the GUI thread, reporting through Qt signals.

Every job has the same lifecycle, always on the GUI thread:
`started → progress* → exactly one of succeeded | failed | cancelled → finished`.

Two lanes: a CPU pool (reading, painting, thumbnails, export) and ONE GPU-lane thread that runs the AI
stages one at a time (the thread never expires, so pipelines stay with the thread that loaded them).
A job submitted under a `key` supersedes (cancels) the previous job with the same key.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.errors import Cancelled
from app.jobs.cancel import CancelToken
from app.jobs.progress import Progress, ProgressEvent

log = logging.getLogger(__name__)

WorkFn = Callable[..., Any]


class Job(QObject):
    """The GUI-thread face of one unit of work. Connect to its signals before submitting it."""

    started = Signal()
    progress = Signal(object)  # ProgressEvent
    succeeded = Signal(object)  # the function's return value
    failed = Signal(object)  # the exception object
    cancelled = Signal()
    finished = Signal()

    # Emitted from the worker thread; delivered (queued) to this object's slots on the GUI thread.
    _w_started = Signal()
    _w_progress = Signal(object)
    _w_done = Signal(str, object)

    def __init__(self, fn: WorkFn, request: Any = None, *, name: str = "", hz: float = 10.0) -> None:
        super().__init__()
        self.fn = fn
        self.request = request
        self.name = name or getattr(fn, "__name__", "job")
        self.token = CancelToken()
        self.state = "new"  # new → queued → running → succeeded | failed | cancelled
        self.hz = hz
        self.result: Any = None
        self.error: BaseException | None = None
        self.t_started: float | None = None
        self._w_started.connect(self._on_started)
        self._w_progress.connect(self._on_progress)
        self._w_done.connect(self._on_done)

    # ----- control (GUI thread) -------------------------------------------------------------------
    def cancel(self) -> None:
        self.token.cancel()

    @property
    def done(self) -> bool:
        return self.state in ("succeeded", "failed", "cancelled")

    # ----- worker thread --------------------------------------------------------------------------
    def execute(self) -> None:
        """Run the function on the calling (worker) thread. Never raises."""
        self._w_started.emit()
        try:
            if self.token.cancelled:
                raise Cancelled()
            result = self.fn(self.request, progress=Progress(self._w_progress.emit, hz=self.hz), cancel=self.token)
            if self.token.cancelled:  # finished, but nobody wants the result any more
                raise Cancelled()
        except Cancelled:
            self._w_done.emit("cancelled", None)
        except BaseException as exc:  # a crash in a job must never take the window down
            if not isinstance(exc, Exception):
                log.error("job %s raised %s", self.name, type(exc).__name__)
            else:
                log.debug("job %s failed", self.name, exc_info=exc)
            self._w_done.emit("failed", exc)
        else:
            self._w_done.emit("succeeded", result)

    # ----- GUI thread relays ----------------------------------------------------------------------
    @Slot()
    def _on_started(self) -> None:
        self.state = "running"
        self.t_started = time.monotonic()
        self.started.emit()

    @Slot(object)
    def _on_progress(self, event: ProgressEvent) -> None:
        if self.state == "running":
            self.progress.emit(event)

    @Slot(str, object)
    def _on_done(self, outcome: str, value: object) -> None:
        self.state = outcome
        if outcome == "succeeded":
            self.result = value
            self.succeeded.emit(value)
        elif outcome == "failed":
            self.error = value  # type: ignore[assignment]
            if not _is_app_error(value):
                log.error("job %s failed", self.name, exc_info=value)  # type: ignore[arg-type]
            self.failed.emit(value)
        else:
            self.cancelled.emit()
        self.finished.emit()


def _is_app_error(exc: object) -> bool:
    from app.errors import AppError

    return isinstance(exc, AppError)


class WorkerPool:
    """Python threads (not QThreads: some libraries keep per-thread state in `threading.local`, which a
    QThreadPool thread loses between jobs) taking jobs from a priority queue, highest priority first."""

    def __init__(self, threads: int, name: str) -> None:
        self.max_threads = threads
        self.name = name
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self._pending = 0
        self._idle = threading.Condition()
        self._retired: list[Job] = []  # finished jobs, released on the GUI thread by reap()

    def start(self, job: Job, priority: int = 0) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put((-priority, next(self._seq), job))
        if len(self._threads) < self.max_threads:
            t = threading.Thread(target=self._loop, name=f"{self.name}-{len(self._threads)}", daemon=True)
            self._threads.append(t)
            t.start()

    def _loop(self) -> None:
        while True:
            _, _, job = self._queue.get()
            if job is None:
                return
            try:
                job.execute()
            finally:
                with self._idle:
                    # A worker must never drop the last reference to a Job (a QObject made on the GUI thread):
                    # destroying it here while its queued signals are in flight can crash Qt. reap() releases it.
                    self._retired.append(job)
                    self._pending -= 1
                    self._idle.notify_all()
                del job

    def wait(self, msecs: int = 30000) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=msecs / 1000)

    def reap(self) -> None:
        """Release finished jobs; call on the GUI thread."""
        with self._idle:
            done, self._retired = self._retired, []
        done.clear()

    def shutdown(self) -> None:
        for _ in self._threads:
            self._queue.put((1 << 30, next(self._seq), None))
        self._threads.clear()


class Lanes(QObject):
    """The CPU pool and the single GPU lane; keeps jobs alive until they finish."""

    busy_changed = Signal(bool)

    def __init__(self, cpu_threads: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cpu = WorkerPool(cpu_threads or max(2, min(4, (os.cpu_count() or 2) - 1)), "mapbrush-cpu")
        self.gpu = WorkerPool(1, "mapbrush-gpu")  # one thread for the life of the app: it owns every pipeline
        self._keyed: dict[str, Job] = {}
        self._live: set[Job] = set()

    def submit(
        self, job: Job, *, lane: str = "cpu", key: str | None = None, priority: int = 0, supersede: bool = True
    ) -> Job:
        """Queue a job. With a `key`, a still-running job of that key is cancelled first (when `supersede`)."""
        if key is not None:
            old = self._keyed.get(key)
            if old is not None and not old.done and supersede:
                old.cancel()
            self._keyed[key] = job
        self._live.add(job)
        job.finished.connect(lambda j=job, k=key: self._forget(j, k))
        job.state = "queued"
        if len(self._live) == 1:
            self.busy_changed.emit(True)
        pool = self.gpu if lane == "gpu" else self.cpu
        pool.start(job, priority)
        return job

    def current(self, key: str) -> Job | None:
        job = self._keyed.get(key)
        return job if job is not None and not job.done else None

    def running(self) -> list[Job]:
        return [j for j in self._live if not j.done]

    def cancel_all(self) -> None:
        for job in list(self._live):
            job.cancel()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until both lanes are idle (for shutdown and tests)."""
        a = self.cpu.wait(msecs)
        b = self.gpu.wait(msecs)
        return a and b

    def shutdown(self) -> None:
        self.cpu.shutdown()
        self.gpu.shutdown()
        self.cpu.reap()
        self.gpu.reap()

    def _forget(self, job: Job, key: str | None) -> None:
        self._live.discard(job)
        self.cpu.reap()
        self.gpu.reap()
        if key is not None and self._keyed.get(key) is job:
            del self._keyed[key]
        if not self._live:
            self.busy_changed.emit(False)
