"""The centre pane: an image view with wheel zoom, drag pan, Fit and 100%, a stage switcher
(Structure · Sketch · Preview · Final) and a before/after compare wipe."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.images import to_pixmap

STAGES = ("structure", "sketch", "preview", "final")


class _CompareItem(QGraphicsItem):
    """Draws `after`; in compare mode, `before` left of the split line."""

    def __init__(self) -> None:
        super().__init__()
        self.after: QPixmap | None = None
        self.before: QPixmap | None = None
        self.split = 0.5

    def boundingRect(self) -> QRectF:
        pm = self.after or self.before
        return QRectF(0, 0, pm.width(), pm.height()) if pm else QRectF()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self.after is None:
            return
        rect = self.boundingRect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(rect, self.after, QRectF(self.after.rect()))
        if self.before is None:
            return
        x = rect.width() * self.split
        src = QRectF(0, 0, self.before.width() * self.split, self.before.height())
        painter.drawPixmap(QRectF(0, 0, x, rect.height()), self.before, src)
        painter.setPen(QPen(QColor(255, 255, 255, 220), 0))
        painter.drawLine(QPointF(x, 0), QPointF(x, rect.height()))


class ImageView(QGraphicsView):
    """Wheel zooms around the cursor, dragging pans; in compare mode the mouse moves the split."""

    zoomed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.item = _CompareItem()
        self.scene().addItem(self.item)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setBackgroundBrush(QColor(60, 60, 64))
        self.setMouseTracking(True)
        self.fit_mode = True
        self.image_array: np.ndarray | None = None

    def set_image(self, after: np.ndarray | None, before: np.ndarray | None = None) -> None:
        size_changed = (
            after is None
            or self.item.after is None
            or (self.item.after.width(), self.item.after.height()) != (after.shape[1], after.shape[0])
        )
        self.image_array = after
        self.item.prepareGeometryChange()
        self.item.after = to_pixmap(after) if after is not None else None
        self.item.before = to_pixmap(before) if before is not None else None
        self.scene().setSceneRect(self.item.boundingRect())
        self.item.update()
        if self.fit_mode or size_changed:
            self.fit()

    def set_before(self, before: np.ndarray | None) -> None:
        self.item.before = to_pixmap(before) if before is not None else None
        self.item.update()

    def has_image(self) -> bool:
        return self.item.after is not None

    def fit(self) -> None:
        self.fit_mode = True
        if self.item.after is not None:
            self.fitInView(self.item, Qt.AspectRatioMode.KeepAspectRatio)
            self.zoomed.emit(self.transform().m11())

    def actual_size(self) -> None:
        self.fit_mode = False
        self.resetTransform()
        self.zoomed.emit(1.0)

    def zoom(self, factor: float) -> None:
        scale = self.transform().m11() * factor
        if 0.02 <= scale <= 32:
            self.fit_mode = False
            self.scale(factor, factor)
            self.zoomed.emit(scale)

    def wheelEvent(self, event) -> None:
        self.zoom(1.25 if event.angleDelta().y() > 0 else 0.8)

    def mouseMoveEvent(self, event) -> None:
        if self.item.before is not None and not event.buttons():
            pos = self.mapToScene(event.position().toPoint())
            w = self.item.boundingRect().width()
            if w > 0:
                self.item.split = min(1.0, max(0.0, pos.x() / w))
                self.item.update()
        super().mouseMoveEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fit_mode:
            self.fit()


class PreviewPane(QWidget):
    """The view plus its toolbar. The window fills `stages`; the person picks which one to look at."""

    stage_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.images: dict[str, np.ndarray] = {}
        self.current = "sketch"
        self.view = ImageView(self)
        self.placeholder = QLabel("Drop GeoJSON, GPX, KML/KMZ, Shapefile or OSM files here", self)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: #888; font-size: 16px;")

        bar = QHBoxLayout()
        self.group = QButtonGroup(self)
        self.stage_buttons: dict[str, QPushButton] = {}
        for name in STAGES:
            b = QPushButton(name.title(), self)
            b.setCheckable(True)
            b.setEnabled(False)
            b.setObjectName(f"stage_{name}")
            self.group.addButton(b)
            self.stage_buttons[name] = b
            b.clicked.connect(lambda _=False, n=name: self.show_stage(n))
            bar.addWidget(b)
        bar.addStretch(1)
        self.compare = QToolButton(self)
        self.compare.setText("Compare")
        self.compare.setToolTip(
            "Before/after: move the mouse over the picture to wipe between the sketch and this stage"
        )
        self.compare.setCheckable(True)
        self.compare.toggled.connect(lambda _: self._refresh())
        self.fit_button = QToolButton(self)
        self.fit_button.setText("Fit")
        self.fit_button.clicked.connect(self.view.fit)
        self.full_button = QToolButton(self)
        self.full_button.setText("100%")
        self.full_button.clicked.connect(self.view.actual_size)
        self.zoom_label = QLabel("", self)
        self.view.zoomed.connect(lambda s: self.zoom_label.setText(f"{s * 100:.0f}%"))
        for w in (self.compare, self.fit_button, self.full_button, self.zoom_label):
            bar.addWidget(w)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.placeholder, 1)
        self.view.hide()

    def set_stage_image(self, stage: str, image: np.ndarray | None, *, show: bool = False) -> None:
        if image is None:
            self.images.pop(stage, None)
        else:
            self.images[stage] = image
        self.stage_buttons[stage].setEnabled(image is not None)
        if show or stage == self.current:
            self.show_stage(stage if image is not None else "sketch")

    def clear(self) -> None:
        self.images.clear()
        for b in self.stage_buttons.values():
            b.setEnabled(False)
        self.view.set_image(None)
        self.view.hide()
        self.placeholder.show()

    def show_stage(self, stage: str) -> None:
        if stage not in self.images:
            return
        self.current = stage
        self.stage_buttons[stage].setChecked(True)
        self._refresh()
        self.stage_changed.emit(stage)

    def shown_image(self) -> np.ndarray | None:
        return self.images.get(self.current)

    def _refresh(self) -> None:
        after = self.images.get(self.current)
        if after is None:
            return
        before = None
        if self.compare.isChecked():
            before_stage = "structure" if self.current == "sketch" else "sketch"
            before = self.images.get(before_stage)
            if before is not None and before.shape[:2] != after.shape[:2]:
                before = None
        self.placeholder.hide()
        self.view.show()
        self.view.set_image(after, before)
