"""The left panel: loaded files, layer toggles, framing, title."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.jobs.render import MAX_SIDE
from app.ui.composition import ASPECTS, LAYER_GROUPS, Composition
from app.ui.sizes import fit, papers_filled
from app.ui.tasks import LoadedFile

NOT_KINDS_TIPS = {"labels": "street and place names", "imagery": "pictures under the map (KML GroundOverlays)"}
DROP_TEXT = "Drop GeoJSON, GPX, KML/KMZ, Shapefile or OSM files here"
TITLE_DEBOUNCE_MS = 400  # typing in the title or subtitle re-renders this long after the last key


class MapPanel(QWidget):
    changed = Signal()  # any framing / layer / title edit
    open_requested = Signal()
    remove_requested = Signal(list)  # paths

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)

        files_box = QGroupBox("Map data", self)
        fl = QVBoxLayout(files_box)
        self.drop_zone = QLabel(DROP_TEXT, files_box)
        self.drop_zone.setObjectName("drop_zone")
        self.drop_zone.setWordWrap(True)
        self.drop_zone.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_zone.setMinimumHeight(90)
        self.drop_zone.setStyleSheet("QLabel#drop_zone { border: 2px dashed #999; border-radius: 8px; color: #777; }")
        self.files = QListWidget(files_box)
        self.files.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.files.hide()
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open…", files_box)
        self.open_button.clicked.connect(self.open_requested)
        self.remove_button = QPushButton("Remove", files_box)
        self.remove_button.clicked.connect(self._remove_selected)
        self.remove_button.setEnabled(False)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.remove_button)
        fl.addWidget(self.drop_zone)
        fl.addWidget(self.files)
        fl.addLayout(buttons)
        lay.addWidget(files_box)

        layers_box = QGroupBox("Layers", self)
        grid = QGridLayout(layers_box)
        self.layer_boxes: dict[str, QCheckBox] = {}
        for i, name in enumerate(LAYER_GROUPS):
            cb = QCheckBox(name.title(), layers_box)
            kinds = ", ".join(sorted(k.value for k in LAYER_GROUPS[name])) or NOT_KINDS_TIPS[name]
            cb.setToolTip(f"{kinds} (on the command line: --hide {name})")
            cb.setChecked(True)
            cb.toggled.connect(self.changed)
            grid.addWidget(cb, i // 2, i % 2)
            self.layer_boxes[name] = cb
        lay.addWidget(layers_box)

        frame_box = QGroupBox("Framing", self)
        form = QFormLayout(frame_box)
        self.aspect = QComboBox(frame_box)
        for i, (name, wh) in enumerate(ASPECTS.items()):
            self.aspect.addItem(name)
            papers = papers_filled(wh[0] / wh[1]) if wh else []
            tip = f"prints on {', '.join(papers)} without a border" if papers else "no border on a screen"
            self.aspect.setItemData(i, "width and height set below" if wh is None else tip, Qt.ItemDataRole.ToolTipRole)
        self.aspect.setCurrentText("4:3")
        self.aspect.currentTextChanged.connect(self._aspect_changed)
        form.addRow("Aspect", self.aspect)
        custom = QHBoxLayout()
        self.custom_w = QSpinBox(frame_box)
        self.custom_h = QSpinBox(frame_box)
        for sb, v in ((self.custom_w, 2400), (self.custom_h, 1800)):
            sb.setRange(16, MAX_SIDE)
            sb.setValue(v)
            sb.setSuffix(" px")
            sb.setKeyboardTracking(False)
            custom.addWidget(sb)
        self.custom_w.valueChanged.connect(lambda v: self._size_edited(self.custom_w))
        self.custom_h.valueChanged.connect(lambda v: self._size_edited(self.custom_h))
        self.custom_w.setToolTip("the export's pixels; they keep the aspect unless it is Custom")
        self.custom_h.setToolTip(self.custom_w.toolTip())
        self.custom_row = QWidget(frame_box)
        self.custom_row.setLayout(custom)
        custom.setContentsMargins(0, 0, 0, 0)
        form.addRow("Size", self.custom_row)
        self.margin = QDoubleSpinBox(frame_box)
        self.margin.setRange(0.0, 40.0)
        self.margin.setSingleStep(1.0)
        self.margin.setDecimals(0)
        self.margin.setSuffix(" %")
        self.margin.setValue(6)
        self.margin.valueChanged.connect(self.changed)
        form.addRow("Margin", self.margin)
        self.rotation = QDoubleSpinBox(frame_box)
        self.rotation.setRange(-180.0, 180.0)
        self.rotation.setSingleStep(5.0)
        self.rotation.setDecimals(1)
        self.rotation.setSuffix(" °")
        self.rotation.setWrapping(True)
        self.rotation.valueChanged.connect(self.changed)
        form.addRow("Rotation", self.rotation)
        lay.addWidget(frame_box)

        title_box = QGroupBox("Title", self)
        tf = QFormLayout(title_box)
        self.show_title = QCheckBox("Show a title", title_box)
        self.show_title.setChecked(True)
        self.show_title.toggled.connect(self.changed)
        self.show_subtitle = QCheckBox("Show a subtitle", title_box)
        self.show_subtitle.setChecked(True)
        self.show_subtitle.toggled.connect(self.changed)
        self.title = QLineEdit(title_box)
        self.subtitle = QLineEdit(title_box)
        self.clear_defaults()
        self._typing = QTimer(self)  # the title follows the typing, once it pauses
        self._typing.setSingleShot(True)
        self._typing.setInterval(TITLE_DEBOUNCE_MS)
        self._typing.timeout.connect(self.changed)
        for edit in (self.title, self.subtitle):
            edit.textEdited.connect(self._typing.start)
            edit.editingFinished.connect(self._flush_typing)
        shows = QHBoxLayout()
        shows.addWidget(self.show_title)
        shows.addWidget(self.show_subtitle)
        tf.addRow(shows)
        tf.addRow("Title", self.title)
        tf.addRow("Subtitle", self.subtitle)
        lay.addWidget(title_box)
        lay.addStretch(1)
        self.files.itemSelectionChanged.connect(lambda: self.remove_button.setEnabled(bool(self.files.selectedItems())))

    # ----- files ----------------------------------------------------------------------------------
    def set_files(self, files: list[LoadedFile]) -> None:
        self.files.clear()
        for f in files:
            src = f.data.sources[0] if f.data.sources else None
            fmt = src.format if src else "?"
            item = QListWidgetItem(f"{f.label or f.path.name}  ·  {f.features:,} features ({fmt})")
            item.setToolTip(_counts_text(f))
            item.setData(Qt.ItemDataRole.UserRole, str(f.path))
            self.files.addItem(item)
        self.files.setVisible(bool(files))
        self.drop_zone.setVisible(not files)
        self.files.setMaximumHeight(28 + 22 * min(len(files), 6))

    def _remove_selected(self) -> None:
        paths = [i.data(Qt.ItemDataRole.UserRole) for i in self.files.selectedItems()]
        if paths:
            self.remove_requested.emit(paths)

    def clear_defaults(self) -> None:
        """Placeholders until a sketch says what the defaults are for these files."""
        self.title.setPlaceholderText("the map's own title")
        self.subtitle.setPlaceholderText("the centre's coordinates, or a track's length and climb")

    def show_defaults(self, meta: dict) -> None:
        """Show the default title and subtitle a sketch drew (its metadata) as the empty fields' placeholders:
        what leaving a field empty gives. Worked out with the sketch, off the GUI thread (the gazetteer takes
        seconds to load); a sketch drawn with the person's own text leaves a placeholder as it was."""
        if meta.get("title_mode") == "default":
            self.title.setPlaceholderText(meta.get("title") or "no title for this data")
        if meta.get("subtitle_mode") == "default" and meta.get("title"):  # no title: no default subtitle drawn
            self.subtitle.setPlaceholderText(meta.get("subtitle") or "no subtitle at this scale")

    # ----- composition ----------------------------------------------------------------------------
    def _aspect_changed(self, name: str) -> None:
        self._follow_aspect(None)
        self.changed.emit()

    def _size_edited(self, edited: QSpinBox) -> None:
        self._follow_aspect(edited)
        self.changed.emit()

    def _follow_aspect(self, edited: QSpinBox | None) -> None:
        """Give the Size fields the aspect's shape: the other side follows the one edited; a new aspect keeps
        the long side (Custom: both are free, they make the aspect)."""
        wh = ASPECTS.get(self.aspect.currentText())
        if wh is None:
            return
        ratio = wh[0] / wh[1]
        w, h = self.custom_w.value(), self.custom_h.value()
        if edited is None:
            w, h = fit(ratio, max(w, h))
        elif edited is self.custom_w:
            w, h = fit(ratio, w if ratio >= 1 else round(w / ratio))
        else:
            w, h = fit(ratio, round(h * ratio) if ratio >= 1 else h)
        blockers = [QSignalBlocker(self.custom_w), QSignalBlocker(self.custom_h)]
        self.custom_w.setValue(w)
        self.custom_h.setValue(h)
        del blockers

    def _flush_typing(self) -> None:
        """Enter or leaving the field: apply what was typed now rather than after the pause (an unchanged title
        repaints nothing: the session keeps a sketch of the same composition)."""
        self._typing.stop()
        self.changed.emit()

    def read(self, c: Composition) -> Composition:
        return c.with_(
            aspect=self.aspect.currentText(),
            custom_size=(self.custom_w.value(), self.custom_h.value()),
            margin=self.margin.value() / 100.0,
            rotation=self.rotation.value(),
            show_title=self.show_title.isChecked(),
            title=self.title.text(),
            show_subtitle=self.show_subtitle.isChecked(),
            subtitle=self.subtitle.text(),
            hidden=frozenset(n for n, cb in self.layer_boxes.items() if not cb.isChecked()),
        )

    def apply(self, c: Composition) -> None:
        widgets = [self.aspect, self.custom_w, self.custom_h, self.margin, self.rotation, self.show_title]
        widgets += [self.show_subtitle, self.title, self.subtitle, *self.layer_boxes.values()]
        blockers = [QSignalBlocker(w) for w in widgets]
        self._typing.stop()
        self.aspect.setCurrentText(c.aspect)
        self.custom_w.setValue(c.output_size()[0])
        self.custom_h.setValue(c.output_size()[1])
        self.margin.setValue(round(c.margin * 100))
        self.rotation.setValue(c.rotation)
        self.show_title.setChecked(c.show_title)
        self.title.setText(c.title)
        self.show_subtitle.setChecked(c.show_subtitle)
        self.subtitle.setText(c.subtitle)
        for name, cb in self.layer_boxes.items():
            cb.setChecked(name not in c.hidden)
        del blockers


def _counts_text(f: LoadedFile) -> str:
    lines = [str(f.path)]
    lines += [f"{kind}: {n:,}" for kind, n in f.data.counts().items()]
    return "\n".join(lines)
