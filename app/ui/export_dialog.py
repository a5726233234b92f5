"""Export PNG: a size of the preview's aspect, file name, then a render at that size in the background.

Every size offered has the framing's aspect, so the export is the preview at more pixels: paper formats change
the resolution only (app/ui/sizes.py). Another page shape is chosen in the window (Framing → Aspect) first.
"""

from __future__ import annotations

from pathlib import Path

from pathvalidate import sanitize_filename
from pathvalidate.handler import ReservedNameHandler
from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.export.paper import PAPERS
from app.jobs.render import MAX_SIDE
from app.ui.sizes import PRINT_DPI, ExportSize, export_sizes, fit, with_bleed

CUSTOM = "custom"
MAX_NAME = 120  # characters of a suggested file name, extension included


def suggest_name(title: str | None, style: str) -> str:
    """The map's title and the style ("Helsinki — poster.png"), made safe as a file name on every system."""

    def clean(text: str, whole: bool) -> str:  # characters no file system takes, gone; spaces collapsed
        keep = {} if whole else {"reserved_name_handler": ReservedNameHandler.as_is}
        return " ".join(sanitize_filename(text, platform="universal", replacement_text=" ", **keep).split())

    tail = f" — {style}.png"
    title = clean(title or "", False).strip(" .")[: MAX_NAME - len(tail)].rstrip(" .") or "Map"
    return clean(title + tail, True)  # reserved names (CON, NUL…) matter only for the whole name


def default_folder(export_dir: str) -> Path:
    """The folder of the last export, else Pictures, else home."""
    if export_dir and Path(export_dir).expanduser().is_dir():
        return Path(export_dir).expanduser()
    from platformdirs import user_pictures_dir

    pictures = Path(user_pictures_dir())
    return pictures if pictures.is_dir() and pictures != Path.home() else Path.home()


def map_title(session) -> str | None:
    """The title the map shows (typed, else the one the sketch found), else the data's place name."""
    comp = session.composition
    if comp.title.strip():
        return comp.title.strip()
    shown = session.sketch.metadata.get("title") if session.sketch is not None else None
    if isinstance(shown, str) and shown.strip():
        return shown
    return session.data.place_name() if session.data is not None else None


class ExportDialog(QDialog):
    def __init__(self, win) -> None:
        super().__init__(win)
        self.win = win
        self.setWindowTitle("Export PNG")
        session = win.session
        comp = session.composition
        self.ratio = comp.aspect_ratio()
        self.window_size = comp.output_size()
        form = QFormLayout(self)
        shape = (
            f"{comp.aspect} ({self.window_size[0]} : {self.window_size[1]})" if comp.aspect == "Custom" else comp.aspect
        )
        intro = QLabel(
            f"The map as framed in the preview, {shape}. Paper sizes change the resolution only; for a page "
            "of another shape, choose it under Framing → Aspect first and the preview follows.",
            self,
        )
        intro.setWordWrap(True)
        form.addRow(intro)
        self.preset = QComboBox(self)
        form.addRow("Size", self.preset)
        self.dpi = QComboBox(self)
        for d in PRINT_DPI:
            self.dpi.addItem(f"{d} dpi", d)
        form.addRow("Print resolution", self.dpi)
        self.bleed = QDoubleSpinBox(self)
        self.bleed.setRange(0.0, 20.0)
        self.bleed.setSingleStep(0.5)
        self.bleed.setDecimals(1)
        self.bleed.setSuffix(" mm")
        self.bleed.setToolTip("added on every side of the paper for trimming; the margin grows by it")
        form.addRow("Bleed", self.bleed)
        row = QHBoxLayout()
        self.width_box, self.height_box = QSpinBox(self), QSpinBox(self)
        for sb in (self.width_box, self.height_box):
            sb.setRange(16, MAX_SIDE)
            sb.setSuffix(" px")
            sb.setKeyboardTracking(False)
            row.addWidget(sb)
        self.width_box.valueChanged.connect(lambda v: self._pixels_edited(self.width_box))
        self.height_box.valueChanged.connect(lambda v: self._pixels_edited(self.height_box))
        self.custom = QWidget(self)
        self.custom.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        form.addRow("Pixels", self.custom)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setMinimumHeight(2 * self.note.fontMetrics().lineSpacing() + 4)  # a long note: no jump
        form.addRow("", self.note)
        self.engine = QComboBox(self)
        self.engine.addItem("Sketch (procedural)", "procedural")
        for stage in ("preview", "final"):
            if session.can_run(stage)[0]:
                self.engine.addItem(f"{stage.title()} (AI)", stage)
        idx = self.engine.findData(win.preview.current)
        self.engine.setCurrentIndex(max(idx, 0))
        form.addRow("Engine", self.engine)
        folder = default_folder(win.settings.export_dir)
        self.path = QLineEdit(str(folder / suggest_name(map_title(session), comp.style)), self)
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
        self.setMinimumWidth(580)

        s = win.settings
        self.dpi.setCurrentIndex(max(0, self.dpi.findData(s.export_dpi)))
        self._fill_presets(s.export_size)
        self.preset.currentIndexChanged.connect(lambda _i: self._preset_changed())
        self.dpi.currentIndexChanged.connect(lambda _i: self._fill_presets(self.preset.currentData()))
        self.bleed.valueChanged.connect(lambda _v: self._preset_changed())
        self._preset_changed()

    # ----- sizes ----------------------------------------------------------------------------------
    def sizes(self) -> list[ExportSize]:
        return export_sizes(self.ratio, self.window_size, self.dpi.currentData())

    def _fill_presets(self, keep: str | None) -> None:
        with QSignalBlocker(self.preset):
            self.preset.clear()
            for e in self.sizes():
                self.preset.addItem(e.label, e.key)
            self.preset.addItem("Custom — set the width; the height keeps the aspect", CUSTOM)
            self.preset.setCurrentIndex(max(0, self.preset.findData(keep)))
        self._preset_changed()

    def current(self) -> ExportSize | None:
        key = self.preset.currentData()
        e = next((e for e in self.sizes() if e.key == key), None)
        return with_bleed(e, self.bleed.value())[0] if e is not None else None

    def paper(self) -> dict | None:
        """The paper, bleed and trim box for the picture's metadata (as `render --paper`); None off paper."""
        e = self.current()
        if e is None or e.dpi is None or self.preset.currentData() not in PAPERS:
            return None
        b, (w, h) = self.bleed_px(), e.size
        return {
            "paper": e.key,
            "orientation": "landscape" if w > h else "portrait",
            "bleed_mm": self.bleed.value(),
            "bleed_px": b,
            "trim_box": [b, b, w - b, h - b],
            "dpi": e.dpi,
        }

    def bleed_px(self) -> int:
        """The bleed in pixels on every side of the current paper size (0: a screen or custom size)."""
        key = self.preset.currentData()
        e = next((e for e in self.sizes() if e.key == key), None)
        return with_bleed(e, self.bleed.value())[1] if e is not None else 0

    def _preset_changed(self) -> None:
        e = self.current()
        self.custom.setEnabled(e is None)
        self.dpi.setEnabled(e is not None and e.dpi is not None)
        self.bleed.setEnabled(e is not None and e.dpi is not None)
        if e is not None:
            self._set_pixels(e.size)
            self.note.setText(e.note)
        else:
            self._pixels_edited(self.width_box)

    def _set_pixels(self, size: tuple[int, int]) -> None:
        blockers = [QSignalBlocker(self.width_box), QSignalBlocker(self.height_box)]
        self.width_box.setValue(size[0])
        self.height_box.setValue(size[1])
        del blockers

    def _pixels_edited(self, edited: QSpinBox) -> None:
        """Custom pixels keep the preview's aspect: the other side follows the one edited."""
        if edited is self.width_box:
            w = self.width_box.value()
            long_side = w if self.ratio >= 1 else round(w / self.ratio)
        else:
            h = self.height_box.value()
            long_side = round(h * self.ratio) if self.ratio >= 1 else h
        self._set_pixels(fit(self.ratio, long_side))
        self.note.setText("the preview's framing at this many pixels; no print resolution recorded")

    # ----- the file -------------------------------------------------------------------------------
    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export PNG", self.path.text(), "PNG image (*.png)")
        if path:
            self.path.setText(path if path.lower().endswith(".png") else path + ".png")

    def choice(self) -> tuple[Path, tuple[int, int], float | None, str]:
        e = self.current()
        dpi = e.dpi if e is not None else None
        out = Path(self.path.text()).expanduser()
        if out.suffix.lower() != ".png":
            out = out.with_suffix(".png")
        return out, (self.width_box.value(), self.height_box.value()), dpi, self.engine.currentData()

    def accept(self) -> None:
        out, size, dpi, engine = self.choice()
        if not out.parent.is_dir():
            self.win.messages.show_message(f"{out.parent}: this folder does not exist")
            return
        s = self.win.settings
        s.export_dir = str(out.parent)
        s.export_size, s.export_dpi = self.preset.currentData(), self.dpi.currentData()
        self.win.save_settings()
        self.win.session.export(out, size, dpi=dpi, engine=engine, bleed_px=self.bleed_px(), paper=self.paper())
        super().accept()
