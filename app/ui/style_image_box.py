"""The AI panel's "paint it like this picture" drop zone: drop (or choose) a picture, see its thumbnail, clear it.

Only a small thumbnail is made here, with Qt's own reader scaling while it decodes (QImageReader.setScaledSize);
the render reads the full picture on its worker.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImageReader, QPixmap
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

PICTURES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
THUMB = QSize(96, 72)
_HINT = "Drop a painting here:\nthe AI paints the map\nin its colours and style"


class StyleImageBox(QWidget):
    changed = Signal(str)  # the picture's path, "" when cleared

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.path = ""
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.thumb = QLabel(_HINT, self)
        self.thumb.setObjectName("style_image_thumb")
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setMinimumSize(THUMB.width() + 60, THUMB.height() + 8)
        self.thumb.setStyleSheet("QLabel { border: 1px dashed palette(mid); border-radius: 4px; font-size: 10px; }")
        self.thumb.setToolTip("Preview: the sketch takes the picture's palette; final: FLUX.2 Klein sees the picture "
                              "itself as a second reference; procedural: the style's colours come from it")  # fmt: skip
        lay.addWidget(self.thumb, 1)
        buttons = QVBoxLayout()
        self.choose = QToolButton(self)
        self.choose.setText("Choose…")
        self.choose.clicked.connect(self._choose)
        self.clear = QToolButton(self)
        self.clear.setObjectName("style_image_clear")
        self.clear.setText("Clear")
        self.clear.setEnabled(False)
        self.clear.clicked.connect(lambda: self.set_path("", emit=True))
        buttons.addWidget(self.choose)
        buttons.addWidget(self.clear)
        buttons.addStretch(1)
        lay.addLayout(buttons)

    # ----- state ------------------------------------------------------------------------------------
    def set_path(self, path: str, *, emit: bool = False) -> bool:
        """Show `path`'s thumbnail (or the hint for ""); False, and nothing changed, when it is not a picture."""
        if path:
            reader = QImageReader(path)
            size = reader.size()
            if not reader.canRead() or not size.isValid():
                self.thumb.setToolTip(f"{Path(path).name}: not a picture MapBrush can read")
                return False
            reader.setScaledSize(size.scaled(THUMB, Qt.AspectRatioMode.KeepAspectRatio))
            image = reader.read()
            if image.isNull():
                return False
            self.thumb.setPixmap(QPixmap.fromImage(image))
            self.thumb.setToolTip(f"{path}\n(style image: Clear to paint without it)")
        else:
            self.thumb.setPixmap(QPixmap())
            self.thumb.setText(_HINT)
        self.path = path
        self.clear.setEnabled(bool(path))
        if emit:
            self.changed.emit(path)
        return True

    def _choose(self) -> None:
        patterns = " ".join(f"*{s}" for s in PICTURES)
        file, _ = QFileDialog.getOpenFileName(self, "Paint it like this picture", "", f"Pictures ({patterns})")
        if file:
            self.set_path(file, emit=True)

    # ----- drag and drop ------------------------------------------------------------------------------
    @staticmethod
    def _picture(event) -> str:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        local = [u.toLocalFile() for u in urls if u.isLocalFile()]
        return next((p for p in local if Path(p).suffix.lower() in PICTURES), "")

    def dragEnterEvent(self, event) -> None:
        if self._picture(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        path = self._picture(event)
        if path and self.set_path(path, emit=True):
            event.acceptProposedAction()
        else:
            event.ignore()
