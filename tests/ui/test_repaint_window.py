"""Repaint a region in the window (issue 16): brush on the Preview, Repaint on the GPU lane, Undo (Ctrl+Z)."""

import os

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")


@pytest.fixture(scope="module")
def packs_dir(tmp_path_factory):
    from app.inference.packs import build_all
    from app.jobs.ai import Engines

    packs = build_all(tmp_path_factory.mktemp("packs"))
    root = tmp_path_factory.mktemp("models")
    store = Engines(root).store
    for name in ("z_image", "klein"):
        store.import_path(packs[name])
    return root


@pytest.fixture
def previewed(qtbot, window, load_map, town, packs_dir, monkeypatch):
    monkeypatch.setenv("MAPBRUSH_MODELS_DIR", str(packs_dir))
    window.session.reset_engines(str(packs_dir), None)
    load_map(window, [town])
    with qtbot.waitSignal(window.session.engine_status, timeout=120000):
        window.session.probe()
    qtbot.waitUntil(lambda: window.preview_button.isEnabled(), timeout=10000)
    with qtbot.waitSignal(window.session.ai_ready, timeout=240000):
        window.preview_button.click()
    return window


def _drag(qtbot, view, points, modifier=None):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    mods = modifier or Qt.KeyboardModifier.NoModifier
    vp = view.viewport()
    pts = [view.mapFromScene(x, y) for x, y in points]
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, mods, pts[0])
    for p in pts[1:]:
        event_move(vp, QPoint(p), mods)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, mods, pts[-1])


def event_move(widget, pos, mods):
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    ev = QMouseEvent(QMouseEvent.Type.MouseMove, QPointF(pos), QPointF(widget.mapToGlobal(pos)),
                     Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, mods)  # fmt: skip
    QApplication.sendEvent(widget, ev)


def test_brush_repaint_and_undo_in_the_window(qtbot, previewed, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from app.jobs.reference import dilate
    from app.jobs.repaint import feather_for

    w = previewed
    tool = w.repaint
    before = w.session.ai_results["preview"]
    h, wd = before.image.shape[:2]
    assert w.preview.current == "preview" and not tool.bar.run.isEnabled()  # nothing masked yet
    tool.bar.toggle.click()
    tool.bar.size.setValue(60)
    _drag(qtbot, w.preview.view, [(wd * 0.3, h * 0.4), (wd * 0.5, h * 0.45), (wd * 0.6, h * 0.5)])
    mask = tool.mask.array()
    assert mask.shape == (h, wd) and 0.01 < mask.mean() < 0.2
    assert mask[int(h * 0.45), int(wd * 0.5)] and not mask[5, 5]
    assert tool.mask.item.isVisible() and not tool.mask.item.pixmap().isNull()  # the translucent red layer
    # a lasso adds the inside of its outline
    _drag(qtbot, w.preview.view, [(wd * 0.75, h * 0.1), (wd * 0.95, h * 0.1), (wd * 0.95, h * 0.3),
                                  (wd * 0.75, h * 0.3)], Qt.KeyboardModifier.ShiftModifier)  # fmt: skip
    mask = tool.mask.array()
    assert mask[int(h * 0.2), int(wd * 0.85)]
    if os.environ.get("MAPBRUSH_SCREENSHOTS"):
        w.grab().save(str(tmp_path / "repaint-mask.png"))

    with qtbot.waitSignal(w.session.job_started, timeout=5000) as got:
        tool.bar.run.click()
    job = got.args[0]
    assert not tool.bar.run.isEnabled()  # one repaint at a time; the GUI thread is free meanwhile
    with qtbot.waitSignal(job.finished, timeout=240000):
        pass
    after = w.session.ai_results["preview"]
    assert after is not before and w.preview.images["preview"] is after.image
    changed = (after.image != before.image).any(axis=-1)
    assert not changed[~dilate(mask, feather_for((wd, h)))].any()  # the rest exactly as it was
    assert changed[mask].mean() > 0.5
    assert after.metadata["repaints"][-1]["stage"] == "preview"
    assert tool.mask.empty()  # the mask is cleared for the next area
    if os.environ.get("MAPBRUSH_SCREENSHOTS"):
        w.grab().save(str(tmp_path / "repaint-after.png"))

    QTest.keySequence(w, "Ctrl+Z")
    assert w.session.ai_results["preview"] is before
    assert np.array_equal(w.preview.images["preview"], before.image)  # the exact picture before
    assert not tool.bar.undo.isEnabled()


def test_repaint_can_be_cancelled(qtbot, previewed):
    w = previewed
    tool = w.repaint
    before = w.session.ai_results["preview"]
    tool.bar.toggle.click()
    tool.brush_at([tool.view.mapToScene(tool.view.viewport().rect().center())])
    job = tool.run()
    with qtbot.waitSignal(job.cancelled, timeout=240000):
        qtbot.waitUntil(lambda: w.progress_panel.cancel.isEnabled(), timeout=60000)
        w.progress_panel.cancel.click()
    assert w.session.ai_results["preview"] is before and not tool.undo_stack
    assert tool.bar.run.isEnabled()  # the mask stays: Repaint again
