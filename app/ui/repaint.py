"""Repaint a region in the window (issue 16): brush or lasso a mask on the Preview or Final picture, press Repaint.

The mask is drawn at the picture's own pixels and shown as a translucent red layer over it. Repaint runs
`app.jobs.render.repaint` on the GPU lane (the window never waits); the result replaces the stage's picture, and
Undo (the button or Ctrl+Z) brings back the exact picture before, as many times as there were repaints.
Drag with the left button to brush; hold Shift while dragging to lasso (the outline is filled on release);
the right button erases.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPen, QPixmap, QPolygonF, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsPixmapItem,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress

STAGES = ("preview", "final")
UNDO_LIMIT = 20


@dataclass
class RepaintTaskJob:
    request: Any  # app.jobs.render.RenderRequest the picture was made with (seed and prompt: the repaint's)
    repaint: Any  # app.jobs.repaint.Repaint
    data: Any
    engines: Any  # app.ui.tasks.EngineHolder


def repaint_task(job: RepaintTaskJob, *, progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER):
    from app.jobs.render import repaint

    return repaint(job.request, job.repaint, data=job.data, engines=job.engines.get(), progress=progress,
                   cancel=cancel)  # fmt: skip


class MaskLayer:
    """The mask (a greyscale QImage at the picture's size) and its red, translucent picture in the view's scene."""

    def __init__(self, scene) -> None:
        self.image: QImage | None = None
        self.item = QGraphicsPixmapItem()
        self.item.setZValue(10)
        self.item.setOpacity(0.45)
        scene.addItem(self.item)

    def reset(self, width: int, height: int) -> None:
        self.image = QImage(width, height, QImage.Format.Format_Grayscale8)
        self.image.fill(0)
        self.refresh()

    def size(self) -> tuple[int, int] | None:
        return (self.image.width(), self.image.height()) if self.image is not None else None

    def array(self) -> np.ndarray:
        """HxW bool: True where the picture is repainted."""
        img = self.image
        ptr = img.constBits()
        rows = np.frombuffer(ptr, np.uint8, count=img.bytesPerLine() * img.height()).reshape(img.height(), -1)
        return rows[:, : img.width()] > 127

    def empty(self) -> bool:
        return self.image is None or not self.array().any()

    def paint(self, draw, erase: bool = False) -> None:
        p = QPainter(self.image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        colour = QColor(0, 0, 0) if erase else QColor(255, 255, 255)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        draw(p, colour)
        p.end()
        self.refresh()

    def refresh(self) -> None:
        if self.image is None:
            self.item.setPixmap(QPixmap())
            return
        m = self.array()
        rgba = np.zeros((*m.shape, 4), np.uint8)
        rgba[m] = (230, 40, 40, 255)
        qimg = QImage(rgba.data, m.shape[1], m.shape[0], m.shape[1] * 4, QImage.Format.Format_RGBA8888).copy()
        self.item.setPixmap(QPixmap.fromImage(qimg))


class RepaintBar(QWidget):
    """Repaint area (toggle) · Brush size · Clear mask · What to paint there · New seed · Repaint · Undo."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.toggle = QPushButton("Repaint area", self)
        self.toggle.setCheckable(True)
        self.toggle.setToolTip("Brush over the part of the Preview or Final to paint again (Shift-drag: lasso; "
                               "right button: erase)")  # fmt: skip
        self.size = QSpinBox(self)
        self.size.setRange(2, 400)
        self.size.setValue(40)
        self.size.setSuffix(" px")
        self.size.setToolTip("Brush size, in the picture's pixels")
        self.clear = QPushButton("Clear mask", self)
        self.prompt = QLineEdit(self)
        self.prompt.setPlaceholderText("what to paint there (optional)")
        self.new_seed = QCheckBox("New seed", self)
        self.new_seed.setChecked(True)
        self.new_seed.setToolTip("Paint the area with a new seed each time (off: the picture's own seed)")
        self.run = QPushButton("Repaint", self)
        self.run.setObjectName("repaint_button")
        self.undo = QPushButton("Undo", self)
        self.undo.setToolTip("The picture before the last repaint (Ctrl+Z)")
        for w in (self.toggle, QLabel("Brush", self), self.size, self.clear, self.prompt, self.new_seed, self.run,
                  self.undo):  # fmt: skip
            row.addWidget(w)
        row.setStretchFactor(self.prompt, 1)


class RepaintTool(QObject):
    """Draws the mask on the preview pane's view, runs the repaint on the GPU lane, keeps the undo history."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.pane = window.preview
        self.view = window.preview.view
        self.mask = MaskLayer(self.view.scene())
        self.bar = RepaintBar(window)
        self.undo_stack: list[tuple[str, Any]] = []  # (stage, the RenderResult before the repaint)
        self.job = None
        self._stroke: list[QPointF] = []
        self._lasso = False
        self._viewport = self.view.viewport()
        self._viewport.installEventFilter(self)
        b = self.bar
        b.toggle.toggled.connect(self._toggled)
        b.clear.clicked.connect(self.clear)
        b.run.clicked.connect(self.run)
        b.undo.clicked.connect(self.undo)
        self.pane.stage_changed.connect(lambda _s: self.update_buttons())
        self.session.ai_ready.connect(lambda *_a: self.update_buttons())
        self.shortcut = QShortcut(QKeySequence.StandardKey.Undo, window)
        self.shortcut.activated.connect(self.undo)
        self.update_buttons()

    # ----- state ----------------------------------------------------------------------------------
    def stage(self) -> str | None:
        stage = self.pane.current
        return stage if stage in STAGES and stage in self.session.ai_results else None

    def update_buttons(self) -> None:
        stage = self.stage()
        b = self.bar
        busy = self.job is not None and not self.job.done
        b.toggle.setEnabled(stage is not None)
        if stage is None and b.toggle.isChecked():
            b.toggle.setChecked(False)
        b.run.setEnabled(stage is not None and not busy and not self.mask.empty())
        b.undo.setEnabled(bool(self.undo_stack) and not busy)
        b.run.setToolTip("" if stage else "Show a Preview or Final picture to repaint part of it")

    def _toggled(self, on: bool) -> None:
        self.view.setDragMode(self.view.DragMode.NoDrag if on else self.view.DragMode.ScrollHandDrag)
        self._ensure_mask()
        self.mask.item.setVisible(on)
        self.update_buttons()

    def _ensure_mask(self) -> None:
        img = self.pane.shown_image()
        if img is None:
            return
        if self.mask.size() != (img.shape[1], img.shape[0]):
            self.mask.reset(img.shape[1], img.shape[0])

    def clear(self) -> None:
        if self.mask.image is not None:
            self.mask.image.fill(0)
            self.mask.refresh()
        self.update_buttons()

    # ----- drawing --------------------------------------------------------------------------------
    def brush_at(self, points: list[QPointF], erase: bool = False) -> None:
        """Brush along `points` (picture pixels) with the bar's size."""
        self._ensure_mask()
        r = self.bar.size.value() / 2

        def draw(p: QPainter, colour: QColor) -> None:
            if len(points) > 1:
                pen = QPen(colour, 2 * r, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
                p.setPen(pen)
                p.drawPolyline(QPolygonF(points))
            else:
                p.drawEllipse(points[0], r, r)

        self.mask.paint(draw, erase)
        self.update_buttons()

    def lasso(self, points: list[QPointF], erase: bool = False) -> None:
        """Fill the outline through `points` (picture pixels)."""
        self._ensure_mask()
        if len(points) >= 3:
            self.mask.paint(lambda p, _c: p.drawPolygon(QPolygonF(points)), erase)
        self.update_buttons()

    def eventFilter(self, obj, event) -> bool:
        if obj is not self._viewport:
            return False
        try:
            drawing = self.bar.toggle.isChecked()
        except RuntimeError:  # the window is being torn down
            return False
        if not drawing:
            return False
        kind = event.type()
        if kind not in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease):
            return False
        pos = self.view.mapToScene(event.position().toPoint())
        erase = bool(event.buttons() & Qt.MouseButton.RightButton) or event.button() == Qt.MouseButton.RightButton
        if kind == QEvent.Type.MouseButtonPress:
            self._lasso = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self._stroke = [pos]
            if not self._lasso:
                self.brush_at([pos], erase)
        elif kind == QEvent.Type.MouseMove and self._stroke and event.buttons():
            last = self._stroke[-1]
            self._stroke.append(pos)
            if not self._lasso:
                self.brush_at([last, pos], erase)
        elif kind == QEvent.Type.MouseButtonRelease and self._stroke:
            if self._lasso:
                self.lasso(self._stroke, erase)
            self._stroke = []
        return True

    # ----- running ----------------------------------------------------------------------------------
    def run(self):
        """Repaint the masked area of the stage shown, on the GPU lane. Returns the Job (None when nothing to do)."""
        from app.jobs.repaint import Repaint
        from app.ui.workers import Job

        stage = self.stage()
        if stage is None or self.mask.empty():
            return None
        s = self.session
        before = s.ai_results[stage]
        comp = s.composition
        req = replace(before_request(s, comp, stage), seed=_seed(self.bar, before))
        extra = self.bar.prompt.text().strip()
        if extra:
            req.ai.prompt_extra = ", ".join(t for t in (req.ai.prompt_extra, extra) if t)
        image = before.stages.get(stage, before.image)
        job = Repaint(image, self.mask.array(), stage=stage, finished=before.image, metadata=before.metadata)
        work = Job(repaint_task, RepaintTaskJob(req, job, s.data, s.engines), name="repaint")
        work.succeeded.connect(lambda res, st=stage, old=before, c=comp: self._done(st, old, res, c))
        work.failed.connect(lambda exc: s.job_failed.emit("The area could not be repainted", exc))
        work.finished.connect(self.update_buttons)
        self.job = work
        s.job_started.emit(work, f"Repainting part of the {stage}")
        s.lanes.submit(work, lane="gpu", key="repaint")
        self.update_buttons()
        return work

    def _done(self, stage: str, before, result, comp) -> None:
        s = self.session
        if comp.sketch_key() != s.composition.sketch_key() or s.ai_results.get(stage) is not before:
            return  # the map or the picture changed meanwhile
        self.undo_stack = [*self.undo_stack, (stage, before)][-UNDO_LIMIT:]
        self._show(stage, result)
        from app.ui.history import Entry

        self.window.history.add(Entry(comp, stage, result.image, result.metadata.get("seed")))
        self.clear()

    def undo(self) -> bool:
        """The picture before the last repaint, exactly; False when there is none."""
        if not self.undo_stack or (self.job is not None and not self.job.done):
            return False
        stage, before = self.undo_stack.pop()
        self._show(stage, before)
        self.update_buttons()
        return True

    def _show(self, stage: str, result) -> None:
        self.session.ai_results[stage] = result  # the final re-paints the preview as it is now
        self.pane.set_stage_image(stage, result.image, show=True)


def before_request(session, comp, stage: str):
    """The request the stage's picture was made with, and the window's AI options (prompt, creativity…)."""
    req = comp.request(session.inputs, engine=stage)
    req.ai = comp.ai_options()
    return req


def _seed(bar: RepaintBar, before) -> int | None:
    if bar.new_seed.isChecked():
        return random.randrange(2**32)
    seed = before.metadata.get("seed")
    return seed if isinstance(seed, int) else None


def attach(window) -> RepaintTool:
    """Put the repaint bar under the preview pane and wire it to the window."""
    tool = RepaintTool(window)
    window.centre_layout.insertWidget(window.centre_layout.indexOf(window.preview) + 1, tool.bar)
    window.session.sketch_ready.connect(lambda _r: (tool.undo_stack.clear(), tool.update_buttons()))
    return tool
