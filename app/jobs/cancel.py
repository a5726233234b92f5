"""Cooperative cancellation."""

from __future__ import annotations

import threading

from app.errors import Cancelled


class CancelToken:
    """Set from any thread; checked by work at step boundaries."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise `Cancelled` if cancel() was called."""
        if self._event.is_set():
            raise Cancelled()


class _NeverCancelled(CancelToken):
    def cancel(self) -> None:  # pragma: no cover - guard against misuse
        raise RuntimeError("NEVER cannot be cancelled; create a CancelToken")


NEVER = _NeverCancelled()
