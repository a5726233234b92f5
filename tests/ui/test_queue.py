"""The render queue: in order, one at a time on the GPU lane; cancel of a waiting and of the running item."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("PySide6")

from app.errors import Cancelled
from app.ui.queue import QueuePanel, RenderQueue
from app.ui.workers import Lanes


def test_queue_runs_in_order_and_cancels(qtbot):
    lanes = Lanes()
    queue = RenderQueue(lanes)
    panel = QueuePanel(queue)
    qtbot.addWidget(panel)
    gate, ran, results = threading.Event(), [], []
    queue.result.connect(lambda item, value: results.append(value))

    def work(name, *, progress, cancel):
        if name == "a":
            while not gate.is_set():
                if cancel.cancelled:
                    raise Cancelled()
                gate.wait(0.01)
        ran.append(name)
        return name

    a, b, c, d = (queue.add(n, work, n) for n in "abcd")
    assert [i.state for i in (a, b, c, d)] == ["running", "waiting", "waiting", "waiting"]
    assert len(panel.rows) == 4
    queue.cancel(c)  # a waiting one leaves the queue
    assert c not in queue.items and len(panel.rows) == 3
    queue.cancel(a)  # the running one stops at its next check
    qtbot.waitUntil(lambda: not queue.items, timeout=10000)
    assert a.state == "cancelled" and ran == ["b", "d"] and results == ["b", "d"]
    assert panel.rows == []
    lanes.wait(5000)
    qtbot.wait(50)  # the jobs' queued finished signals are delivered before the lanes go
    lanes.shutdown()
