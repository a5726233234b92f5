"""The right panel: style cards (thumbnails of the person's own map), prompt, creativity, seed."""

from __future__ import annotations

import random

from PySide6.QtCore import QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.jobs.ai import build_prompt
from app.ui.composition import Composition
from app.ui.images import thumbnail
from app.ui.style_image_box import StyleImageBox

CARD_ICON = QSize(150, 112)
GUIDES = (
    ("Automatic", "auto", "ControlNet when it is installed and this GPU's tier uses it; else from the painting"),
    ("From the painting", "img2img", "The preview repaints the procedural painting (img2img)"),
    ("From the map lines", "controlnet", "The preview follows the map's line art closely (ControlNet)"),
)


class StylePanel(QWidget):
    changed = Signal()
    style_picked = Signal(str)

    def __init__(self, styles: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.styles = styles  # name → app.styles.model.Style
        self.place: str | None = None
        self.what: str | None = None  # what the map is, as the render's prompt says it ("city map of Helsinki")
        lay = QVBoxLayout(self)

        cards_box = QGroupBox("Style", self)
        grid = QGridLayout(cards_box)
        grid.setSpacing(6)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.cards: dict[str, QToolButton] = {}
        for i, (name, style) in enumerate(styles.items()):
            card = QToolButton(cards_box)
            card.setObjectName(f"card_{name}")
            card.setText(style.title)
            card.setToolTip(style.description)
            card.setCheckable(True)
            card.setIconSize(CARD_ICON)
            card.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            card.setMinimumSize(CARD_ICON.width() + 12, CARD_ICON.height() + 30)
            card.clicked.connect(lambda _=False, n=name: self._pick(n))
            self.group.addButton(card)
            grid.addWidget(card, i // 2, i % 2)
            self.cards[name] = card
        lay.addWidget(cards_box)

        ai_box = QGroupBox("AI painting", self)
        form = QFormLayout(ai_box)
        self.prompt = QPlainTextEdit(ai_box)
        self.prompt.setMaximumHeight(88)
        self.prompt.setToolTip("The AI engines' prompt; edit it freely. {map} stands for what the map is, {place} "
                               "for the place name.")  # fmt: skip
        self.prompt.textChanged.connect(self._prompt_edited)
        self._prompt_custom = False
        self.prompt_reset = QToolButton(ai_box)
        self.prompt_reset.setText("Reset")
        self.prompt_reset.setToolTip("Back to the style's own prompt")
        self.prompt_reset.setEnabled(False)
        self.prompt_reset.clicked.connect(self._reset_prompt)
        prow = QHBoxLayout()
        prow.addWidget(self.prompt, 1)
        prow.addWidget(self.prompt_reset, 0, Qt.AlignmentFlag.AlignTop)
        form.addRow("Prompt", prow)
        self.prompt_extra = QLineEdit(ai_box)
        self.prompt_extra.setPlaceholderText("add words to the prompt, e.g. autumn colours")
        self.prompt_extra.editingFinished.connect(self.changed)
        form.addRow("Add", self.prompt_extra)
        row = QHBoxLayout()
        self.creativity = QSlider(Qt.Orientation.Horizontal, ai_box)
        self.creativity.setRange(0, 100)
        self.creativity.setToolTip(
            "How far the AI may depart from the map: left keeps the streets, right paints freely"
        )
        self.creativity_label = QLabel(ai_box)
        self.creativity_label.setMinimumWidth(34)
        self.creativity.valueChanged.connect(self._creativity_moved)
        row.addWidget(self.creativity, 1)
        row.addWidget(self.creativity_label)
        form.addRow("Creativity", row)
        self._creativity_default = True

        seed_row = QHBoxLayout()
        self.seed = QLineEdit(ai_box)
        self.seed.setValidator(QRegularExpressionValidator(r"\d{0,10}", self.seed))
        self.seed.setPlaceholderText("from the map")
        self.seed.editingFinished.connect(self._seed_edited)
        self.lock = QCheckBox("Lock", ai_box)
        self.lock.setToolTip("Keep this seed; unlocked, the seed follows from the map and the style")
        self.lock.toggled.connect(self.changed)
        self.new_seed = QPushButton("New seed", ai_box)
        self.new_seed.clicked.connect(self._new_seed)
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.lock)
        seed_row.addWidget(self.new_seed)
        form.addRow("Seed", seed_row)

        self.guide = QComboBox(ai_box)
        self.guide.setObjectName("guide")
        for text, value, tip in GUIDES:
            self.guide.addItem(text, value)
            self.guide.setItemData(self.guide.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.guide.setToolTip("What the preview starts from")
        self.guide.currentIndexChanged.connect(self.changed)
        form.addRow("Guide", self.guide)
        self.final_model = QComboBox(ai_box)
        self.final_model.setObjectName("final_model")
        self.final_model.addItem("This GPU's default", "")
        self.final_model.setToolTip("The model that paints the final render")
        self.final_model.currentIndexChanged.connect(self.changed)
        form.addRow("Final model", self.final_model)
        self.style_image = StyleImageBox(ai_box)
        self.style_image.setObjectName("style_image")
        self.style_image.changed.connect(lambda _path: self.changed.emit())
        form.addRow("Style image", self.style_image)
        self._form = form
        form.setRowVisible(self.final_model, False)  # shown when this machine has more than one to offer
        lay.addWidget(ai_box)
        lay.addStretch(1)

    # ----- cards ----------------------------------------------------------------------------------
    def set_thumbnail(self, style: str, image) -> None:
        card = self.cards.get(style)
        if card is not None:
            card.setIcon(QIcon(thumbnail(image, CARD_ICON.width())))

    def clear_thumbnails(self) -> None:
        for card in self.cards.values():
            card.setIcon(QIcon())

    def _pick(self, name: str) -> None:
        self._creativity_default = True
        self._show_style(name)
        self.style_picked.emit(name)
        self.changed.emit()

    def _show_style(self, name: str) -> None:
        style = self.styles.get(name)
        if style is None:
            return
        self.cards[name].setChecked(True)
        if not self._prompt_custom:
            with QSignalBlocker(self.prompt):
                self.prompt.setPlainText(build_prompt(style.prompt.template, self.place, what=self.what))
        if self._creativity_default:
            with QSignalBlocker(self.creativity):
                self.creativity.setValue(round(style.prompt.creativity * 100))
            self.creativity_label.setText(f"{style.prompt.creativity:.2f}")

    def _prompt_edited(self) -> None:
        self._prompt_custom = True
        self.prompt_reset.setEnabled(True)
        self.changed.emit()

    def _reset_prompt(self) -> None:
        self._prompt_custom = False
        self.prompt_reset.setEnabled(False)
        name = self.current_style()
        if name:
            self._show_style(name)
        self.changed.emit()

    def set_place(self, place: str | None, what: str | None = None) -> None:
        """The prompt's {place} and {map}: what the render fills in (app.jobs.render.prompt_subject)."""
        self.place, self.what = place, what
        name = self.current_style()
        if name:
            self._show_style(name)

    def current_style(self) -> str | None:
        b = self.group.checkedButton()
        return next((n for n, c in self.cards.items() if c is b), None)

    # ----- creativity and seed --------------------------------------------------------------------
    def _creativity_moved(self, value: int) -> None:
        self._creativity_default = False
        self.creativity_label.setText(f"{value / 100:.2f}")
        self.changed.emit()

    def _seed_edited(self) -> None:
        if self.seed.text():
            with QSignalBlocker(self.lock):
                self.lock.setChecked(True)
        self.changed.emit()

    def _new_seed(self) -> None:
        self.seed.setText(str(random.randrange(0, 2**32)))
        with QSignalBlocker(self.lock):
            self.lock.setChecked(True)
        self.changed.emit()

    def show_used_seed(self, seed: int | None) -> None:
        """After a render: show the seed it used (unless the person typed one)."""
        if not self.lock.isChecked() and seed is not None:
            self.seed.setText(str(seed))

    # ----- engine choices ---------------------------------------------------------------------------
    def set_engine_choices(self, status) -> None:
        """Fill the pickers from what this machine has (app.ui.tasks.EngineStatus)."""
        with QSignalBlocker(self.guide):
            item = self.guide.model().item(self.guide.findData("controlnet"))
            item.setEnabled(status.controlnet)
            item.setToolTip(GUIDES[2][2] if status.controlnet else "Install the Z-Image ControlNet first "
                            "(Models → Manage models…)")  # fmt: skip
            if not status.controlnet and self.guide.currentData() == "controlnet":
                self.guide.setCurrentIndex(0)
        current = self.final_model.currentData() or ""
        with QSignalBlocker(self.final_model):
            self.final_model.clear()
            for choice in status.final_models:
                terms = "" if choice.commercial_use is not False else " · non-commercial"
                text = f"{choice.name}{' (default)' if choice.default else ''}{terms}"
                self.final_model.addItem(text, "" if choice.default else choice.ref)
                i = self.final_model.count() - 1
                tip = f"Licence: {choice.licence}" + ("" if choice.installed else f"\nNot installed: {choice.install}")
                self.final_model.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
                if not choice.installed and not choice.default:
                    self.final_model.model().item(i).setEnabled(False)
            if self.final_model.count() == 0:
                self.final_model.addItem("This GPU's default", "")
            i = self.final_model.findData(current)
            self.final_model.setCurrentIndex(i if i >= 0 else 0)
        self._form.setRowVisible(self.final_model, len(status.final_models) > 1)
        if (self.final_model.currentData() or "") != current:
            self.changed.emit()

    # ----- composition ----------------------------------------------------------------------------
    def read(self, c: Composition) -> Composition:
        text = self.seed.text().strip()
        seed = int(text) % 2**32 if text else None
        return c.with_(
            style=self.current_style() or c.style,
            creativity=None if self._creativity_default else self.creativity.value() / 100.0,
            prompt_extra=self.prompt_extra.text(),
            prompt=self.prompt.toPlainText().strip() if self._prompt_custom else "",
            seed=seed,
            seed_locked=self.lock.isChecked() and seed is not None,
            guide=self.guide.currentData() or "auto",
            final_model=self.final_model.currentData() or "",
            style_image=self.style_image.path,
        )

    def apply(self, c: Composition) -> None:
        widgets = (self.creativity, self.seed, self.lock, self.prompt_extra, self.guide, self.final_model)
        blockers = [QSignalBlocker(w) for w in widgets]
        self.guide.setCurrentIndex(max(0, self.guide.findData(c.guide)))
        if self.final_model.findData(c.final_model) >= 0:
            self.final_model.setCurrentIndex(self.final_model.findData(c.final_model))
        self._creativity_default = c.creativity is None
        self._prompt_custom = bool(c.prompt)
        self.prompt_reset.setEnabled(self._prompt_custom)
        if c.prompt:
            with QSignalBlocker(self.prompt):
                self.prompt.setPlainText(c.prompt)
        if c.style in self.cards:
            self._show_style(c.style)
        if c.creativity is not None:
            self.creativity.setValue(round(c.creativity * 100))
            self.creativity_label.setText(f"{c.creativity:.2f}")
        self.seed.setText("" if c.seed is None else str(c.seed))
        self.lock.setChecked(c.seed_locked)
        self.prompt_extra.setText(c.prompt_extra)
        if c.style_image != self.style_image.path:
            self.style_image.set_path(c.style_image)
        del blockers
