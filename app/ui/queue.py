"""A queue of explicit renders on the GPU lane: each waits its turn, is visible, and can be cancelled.

The live preview keeps superseding a stale one (Lanes.submit with a key); this queue is for renders the person
asked for ("Final render", "Add to queue"): they run one at a time, in order, and none supersedes another.
The main window shows the panel above its history strip; each result goes to the strip."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.ui.workers import Job, Lanes


@dataclass(eq=False)
class QueueItem:
    label: str  # what: file · style · engine · size
    fn: Callable
    request: Any
    state: str = "waiting"  # waiting | running | succeeded | failed | cancelled
    fraction: float = 0.0
    text: str = ""  # the running item's latest progress words
    extra: Any = None  # what the owner needs back with the result (the window: the composition snapshot)
    job: Job | None = field(default=None, repr=False)


class RenderQueue(QObject):
    """Runs its items one at a time on the GPU lane; `result(item, value)` for each success."""

    changed = Signal()
    result = Signal(object, object)
    failed = Signal(object, object)  # item, exception

    def __init__(self, lanes: Lanes, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lanes = lanes
        self.items: list[QueueItem] = []

    def add(self, label: str, fn: Callable, request: Any, extra: Any = None) -> QueueItem:
        item = QueueItem(label, fn, request, extra=extra)
        self.items.append(item)
        self._next()
        self.changed.emit()
        return item

    def cancel(self, item: QueueItem) -> None:
        """A waiting item leaves the queue; the running one is cancelled at its next step."""
        if item.state == "waiting":
            self.items.remove(item)
            self.changed.emit()
        elif item.state == "running" and item.job is not None:
            item.job.cancel()

    def clear(self) -> None:
        """Drop every waiting item and cancel the running one (the window closing)."""
        self.items = [i for i in self.items if i.state == "running"]
        for item in self.items:
            if item.job is not None:
                item.job.cancel()
        self.changed.emit()

    def busy(self) -> bool:
        return bool(self.items)

    def _next(self) -> None:
        if any(i.state == "running" for i in self.items):
            return
        waiting = [i for i in self.items if i.state == "waiting"]
        if not waiting:
            return
        item = waiting[0]
        item.state = "running"
        job = item.job = Job(item.fn, item.request, name=item.label)
        job.progress.connect(lambda e, i=item: self._progress(i, e))
        job.succeeded.connect(lambda v, i=item: self._done(i, "succeeded", v))
        job.failed.connect(lambda e, i=item: self._done(i, "failed", e))
        job.cancelled.connect(lambda i=item: self._done(i, "cancelled", None))
        self.lanes.submit(job, lane="gpu")

    def _progress(self, item: QueueItem, event) -> None:
        total = getattr(event, "total", 0) or 0
        item.fraction = (getattr(event, "step", 0) / total) if total else item.fraction
        item.text = getattr(event, "message", "") or getattr(event, "stage", "") or item.text
        self.changed.emit()

    def _done(self, item: QueueItem, state: str, value: object) -> None:
        item.state = state
        if item in self.items:
            self.items.remove(item)
        if state == "succeeded":
            self.result.emit(item, value)
        elif state == "failed":
            self.failed.emit(item, value)
        self._next()
        self.changed.emit()


class QueuePanel(QWidget):
    """One row per waiting or running render: what, state, progress, and a Cancel button."""

    def __init__(self, queue: RenderQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(0, 2, 0, 2)
        self._box.setSpacing(2)
        self.rows: list[QWidget] = []
        queue.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        for row in self.rows:
            self._box.removeWidget(row)
            row.hide()  # deleteLater alone leaves the old row painted until the event loop runs
            row.deleteLater()
        self.rows = []
        for item in self.queue.items:
            row = QWidget(self)
            lay = QHBoxLayout(row)
            lay.setContentsMargins(4, 0, 4, 0)
            name = QLabel(item.label, row)
            name.setToolTip(item.label)
            state = QLabel(f"{item.state} · {item.text}" if item.text else item.state, row)
            state.setObjectName("queue_state")
            for label, stretch in ((name, 3), (state, 2)):  # long words never widen the window
                label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
                lay.addWidget(label, stretch)
            bar = QProgressBar(row)
            bar.setFixedWidth(140)
            bar.setRange(0, 100)
            bar.setValue(int(item.fraction * 100))
            lay.addWidget(bar)
            stop = QPushButton("Cancel", row)
            stop.clicked.connect(lambda _=False, i=item: self.queue.cancel(i))
            lay.addWidget(stop)
            self._box.addWidget(row)
            self.rows.append(row)
        self.setVisible(bool(self.rows))
