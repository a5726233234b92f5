"""Progress reporting: small, throttled, thread-agnostic."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProgressEvent:
    stage: str  # "read", "compose", "rasterize", "paint", "finish", "export", "denoise", ...
    step: int
    total: int
    message: str = ""
    preview: Any = None  # optional tiny image (numpy array) for the UI

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total) if self.total > 0 else 0.0


Sink = Callable[[ProgressEvent], None]


class Progress:
    """Report progress of a stage; calls `sink` at most `hz` times a second.

    The first and last step of every stage always get through. A `Progress()`
    with no sink does nothing, so core code can always call it.
    """

    def __init__(self, sink: Sink | None = None, *, hz: float = 10.0, clock=time.monotonic) -> None:
        self._sink = sink
        self._interval = 1.0 / hz if hz > 0 else 0.0
        self._clock = clock
        self._last = -1e18

    def __call__(self, stage: str, step: int, total: int, message: str = "", preview: Any = None) -> None:
        if self._sink is None:
            return
        now = self._clock()
        edge = step <= 0 or step >= total
        if not edge and now - self._last < self._interval:
            return
        self._last = now
        self._sink(ProgressEvent(stage, step, total, message, preview))


NULL_PROGRESS = Progress()
