"""A strip of the pictures made since the window opened; clicking one restores its settings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

from app.ui.composition import Composition
from app.ui.images import thumbnail

LIMIT = 40


@dataclass
class Entry:
    composition: Composition
    stage: str
    image: np.ndarray
    seed: int | None


class HistoryStrip(QListWidget):
    restore = Signal(object)  # Entry

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[Entry] = []
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setIconSize(QSize(96, 72))
        self.setFixedHeight(112)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setMovement(QListView.Movement.Static)
        self.itemClicked.connect(self._clicked)

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        item = QListWidgetItem(QIcon(thumbnail(entry.image, 96)), f"{entry.composition.style} · {entry.stage}")
        item.setData(Qt.ItemDataRole.UserRole, len(self.entries) - 1)
        self.addItem(item)
        if len(self.entries) > LIMIT:
            self.takeItem(0)
        self.scrollToBottom()

    def _clicked(self, item: QListWidgetItem) -> None:
        index = item.data(Qt.ItemDataRole.UserRole)
        if 0 <= index < len(self.entries):
            self.restore.emit(self.entries[index])
