"""The render queue in the window: "Add to queue" snapshots the settings, renders run in order on the GPU lane,
a waiting one can be cancelled, and each result lands in the history strip."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("PySide6")

from app.errors import Cancelled


def test_add_to_queue_runs_in_order_cancels_and_fills_the_history(qtbot, window, load_map, town):
    load_map(window, [town])
    assert not window.queue_panel.isVisible()  # empty: hidden
    before = len(window.history.entries)
    gate = threading.Event()

    def hold(_req, *, progress, cancel):  # keeps the GPU lane busy so the queued renders wait their turn
        while not gate.is_set():
            if cancel.cancelled:
                raise Cancelled()
            gate.wait(0.01)
        return None

    window.render_queue.add("hold", hold, None)
    order, results = [], []
    window.render_queue.result.connect(lambda item, res: res and (order.append(res.metadata["style"]),
                                                                 results.append(res)))  # fmt: skip
    items = []
    for style in ("ink", "noir", "blueprint"):
        window.style_panel.cards[style].click()
        window.queue_action.trigger()
        items.append(window.render_queue.items[-1])
    assert [i.state for i in items] == ["waiting"] * 3
    assert all(i.request.request.engine == "procedural" for i in items)  # no AI engine here
    assert [i.request.request.style for i in items] == ["ink", "noir", "blueprint"]  # each a snapshot
    assert "harbour_town.geojson · noir · procedural" in items[1].label
    assert window.queue_panel.isVisible() and len(window.queue_panel.rows) == 4

    window.render_queue.cancel(items[1])  # a waiting one leaves the queue and its row goes
    assert items[1] not in window.render_queue.items and len(window.queue_panel.rows) == 3

    gate.set()
    qtbot.waitUntil(lambda: not window.render_queue.items, timeout=60000)
    assert order == ["ink", "blueprint"]
    assert [i.state for i in items] == ["succeeded", "waiting", "succeeded"]  # the cancelled one never ran
    queued = [e for e in window.history.entries[before:] if any(e.image is r.image for r in results)]
    assert [e.composition.style for e in queued] == ["ink", "blueprint"]  # the snapshot, not the current style
    assert all(e.image.shape == (768, 1024, 3) and e.image.std() > 5 for e in queued)
    assert window.history.count() == len(window.history.entries)
    assert not window.queue_panel.isVisible()


def test_final_render_while_another_runs_is_queued(qtbot, window, load_map, town, monkeypatch):
    load_map(window, [town])
    gate = threading.Event()
    monkeypatch.setattr(window.session, "can_run", lambda stage: (True, ""))
    running = window.render_queue.add("first final", lambda _r, **_kw: gate.wait(30), None)
    window.final_button.setEnabled(True)
    window.final_button.click()  # a final is being painted (the queue's): this one is queued, not refused
    assert len(window.render_queue.items) == 2 and window.render_queue.items[1].state == "waiting"
    assert " · final · " in window.render_queue.items[1].label
    window.render_queue.cancel(window.render_queue.items[1])
    gate.set()
    qtbot.waitUntil(lambda: running.state == "succeeded", timeout=10000)
