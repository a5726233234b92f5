"""Export PNG: size preset, file name, then a render at that size in the background."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

# name → (width, height, dpi); None size → the framing's aspect at that long side
SCREEN_LONG_SIDE = 2048
PRESETS: dict[str, tuple[int, int, float | None] | None] = {
    "Screen (2048 px)": None,
    "A4 portrait, 300 dpi": (2480, 3508, 300.0),
    "A4 landscape, 300 dpi": (3508, 2480, 300.0),
    "A3 portrait, 300 dpi": (3508, 4961, 300.0),
    "A3 landscape, 300 dpi": (4961, 3508, 300.0),
    "Custom": (0, 0, None),
}


def suggest_name(place: str | None, style: str) -> str:
    stem = re.sub(r"[^\w-]+", "-", (place or "map").strip().lower()).strip("-") or "map"
    return f"{stem}-{style}.png"


class ExportDialog(QDialog):
    def __init__(self, win) -> None:
        super().__init__(win)
        self.win = win
        self.setWindowTitle("Export PNG")
        session = win.session
        comp = session.composition
        form = QFormLayout(self)
        self.preset = QComboBox(self)
        self.preset.addItems(list(PRESETS))
        form.addRow("Size", self.preset)
        row = QHBoxLayout()
        self.width_box, self.height_box = QSpinBox(self), QSpinBox(self)
        w, h = comp.size(SCREEN_LONG_SIDE)
        for sb, v in ((self.width_box, w), (self.height_box, h)):
            sb.setRange(16, 8192)
            sb.setValue(v)
            sb.setSuffix(" px")
            row.addWidget(sb)
        self.custom = QWidget(self)
        self.custom.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        form.addRow("Pixels", self.custom)
        self.engine = QComboBox(self)
        self.engine.addItem("Sketch (procedural)", "procedural")
        for stage in ("preview", "final"):
            if session.can_run(stage)[0]:
                self.engine.addItem(f"{stage.title()} (AI)", stage)
        shown = win.preview.current
        idx = self.engine.findData(shown)
        self.engine.setCurrentIndex(max(idx, 0))
        form.addRow("Engine", self.engine)
        folder = Path(win.settings.export_dir) if win.settings.export_dir else Path.home()
        place = session.data.place_name() if session.data is not None else None
        self.path = QLineEdit(str(folder / suggest_name(place, comp.style)), self)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        prow = QHBoxLayout()
        prow.addWidget(self.path, 1)
        prow.addWidget(browse)
        form.addRow("File", prow)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, parent=self)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.preset.currentTextChanged.connect(self._preset_changed)
        self._preset_changed(self.preset.currentText())

    def _preset_changed(self, name: str) -> None:
        preset = PRESETS[name]
        self.custom.setEnabled(name == "Custom")
        if preset is None:
            w, h = self.win.session.composition.size(SCREEN_LONG_SIDE)
        elif name != "Custom":
            w, h = preset[0], preset[1]
        else:
            return
        self.width_box.setValue(w)
        self.height_box.setValue(h)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export PNG", self.path.text(), "PNG image (*.png)")
        if path:
            self.path.setText(path if path.lower().endswith(".png") else path + ".png")

    def choice(self) -> tuple[Path, tuple[int, int], float | None, str]:
        preset = PRESETS[self.preset.currentText()]
        dpi = preset[2] if preset else None
        out = Path(self.path.text()).expanduser()
        if out.suffix.lower() != ".png":
            out = out.with_suffix(".png")
        return out, (self.width_box.value(), self.height_box.value()), dpi, self.engine.currentData()

    def accept(self) -> None:
        out, size, dpi, engine = self.choice()
        if not out.parent.is_dir():
            self.win.messages.show_message(f"{out.parent}: this folder does not exist")
            return
        self.win.settings.export_dir = str(out.parent)
        self.win.save_settings()
        self.win.session.export(out, size, dpi=dpi, engine=engine)
        super().accept()
