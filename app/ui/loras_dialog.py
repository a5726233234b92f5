"""Models → LoRAs…: the imported LoRAs (name, base model, size, sha256), Import… (checked on a worker), and
which of them the current style uses, each with a strength. The attachments live in the composition and the
settings (`style_loras`, per style); the AI renders pick them up as LoRA ids (app/models/loras.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.models.download import human_bytes
from app.models.loras import LoraLibrary
from app.ui.messages import plain_words
from app.ui.workers import Job

COLUMNS = ("Name", "Base model", "Size", "sha256", "Strength")


def _import(args, *, progress, cancel):
    """Checked and copied like `mapbrush models loras import` (safetensors only; pickles refused)."""
    library, path = args
    progress("import", 0, 1, f"checking {path}")
    return library.import_file(path)


class LorasDialog(QDialog):
    def __init__(self, win, library: LoraLibrary | None = None) -> None:
        super().__init__(win)
        self.win = win
        self.library = library or LoraLibrary(win.settings.models_dir or None)
        self.job: Job | None = None
        style = win.session.composition.style
        self.style = style
        title = getattr(win.session.styles.get(style), "title", style)
        self.setWindowTitle("LoRAs")
        self.resize(760, 380)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("LoRAs teach the AI engines a style. Z-Image LoRAs go with the preview, FLUX.2 ones "
                             "with the final render; only .safetensors files are imported.", self))  # fmt: skip
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("loras_table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for i in range(1, len(COLUMNS)):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._selected)
        lay.addWidget(self.table, 1)

        row = QHBoxLayout()
        self.use = QCheckBox(f"Use with the style {title}", self)
        self.use.setObjectName("lora_use")
        self.use.toggled.connect(self._attach_changed)
        self.strength = QSlider(Qt.Orientation.Horizontal, self)
        self.strength.setObjectName("lora_strength")
        self.strength.setRange(0, 200)  # weight 0..2
        self.strength.setValue(100)
        self.strength.valueChanged.connect(self._attach_changed)
        self.strength_label = QLabel("1.00", self)
        self.strength_label.setMinimumWidth(34)
        row.addWidget(self.use)
        row.addWidget(QLabel("Strength", self))
        row.addWidget(self.strength, 1)
        row.addWidget(self.strength_label)
        lay.addLayout(row)

        self.state = QLabel("", self)
        self.state.setObjectName("loras_state")
        self.state.setWordWrap(True)
        lay.addWidget(self.state)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.import_button = QPushButton("Import…", self)
        self.import_button.clicked.connect(self.import_dialog)
        buttons.addButton(self.import_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.files = []
        self.refresh()

    # ----- the list --------------------------------------------------------------------------------
    def attached(self) -> dict[str, tuple[float, str]]:
        return {lid: (w, e) for lid, w, e in self.win.session.composition.style_loras(self.style)}

    def refresh(self) -> None:
        try:
            self.files = self.library.list()
        except Exception as exc:  # a corrupt index: said in the window, the dialog still opens
            self.files = []
            self.state.setText(plain_words(exc))
        attached = self.attached()
        self.table.setRowCount(len(self.files))
        for r, f in enumerate(self.files):
            weight = attached.get(f.id, (None, ""))[0]
            cells = (f.name, f.base_label, human_bytes(f.size_bytes), f.sha256[:16] + "…",
                     "—" if weight is None else f"{weight:.2f}")  # fmt: skip
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{f.id}: {f.path}\nsha256 {f.sha256}")
                self.table.setItem(r, c, item)
        if not self.files and not self.state.text():
            self.state.setText("No LoRAs imported yet: Import… adds a .safetensors LoRA.")
        if self.files and not self.table.selectionModel().selectedRows():
            self.table.selectRow(0)
        self._selected()

    def _current(self):
        rows = self.table.selectionModel().selectedRows()
        return self.files[rows[0].row()] if rows and rows[0].row() < len(self.files) else None

    def _selected(self) -> None:
        f = self._current()
        self.use.setEnabled(f is not None)
        self.strength.setEnabled(f is not None)
        if f is None:
            return
        weight, _ = self.attached().get(f.id, (None, ""))
        self.use.blockSignals(True)
        self.strength.blockSignals(True)
        self.use.setChecked(weight is not None)
        self.strength.setValue(round((1.0 if weight is None else weight) * 100))
        self.strength_label.setText(f"{self.strength.value() / 100:.2f}")
        self.use.blockSignals(False)
        self.strength.blockSignals(False)

    def _attach_changed(self, *_args) -> None:
        f = self._current()
        if f is None:
            return
        weight = self.strength.value() / 100.0
        self.strength_label.setText(f"{weight:.2f}")
        items = [(lid, w, e) for lid, (w, e) in self.attached().items() if lid != f.id]
        if self.use.isChecked():
            items.append((f.id, weight, f.engine or ""))
        self.win.set_style_loras(items, self.style)
        row = self.table.selectionModel().selectedRows()[0].row()
        self.table.item(row, 4).setText(f"{weight:.2f}" if self.use.isChecked() else "—")

    # ----- import ----------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a LoRA", "", "LoRA files (*.safetensors)")
        if path:
            self.import_path(path)

    def import_path(self, path) -> Job | None:
        if self.job is not None and not self.job.done:
            return None
        self.state.setText(f"Checking {path}…")
        self.import_button.setEnabled(False)
        self.job = Job(_import, (self.library, str(path)), name="import-lora")
        self.job.succeeded.connect(self._imported)
        self.job.failed.connect(lambda exc: self._done(f"Not imported: {plain_words(exc)}"))
        self.win.session.lanes.submit(self.job, key="import-lora")
        return self.job

    def _imported(self, found) -> None:
        self.refresh()
        row = next((i for i, f in enumerate(self.files) if f.id == found.id), None)
        if row is not None:
            self.table.selectRow(row)
        self._done(f"Imported {found.name} ({found.base_label}, {human_bytes(found.size_bytes)}).")

    def _done(self, text: str) -> None:
        self.import_button.setEnabled(True)
        self.state.setText(text)
