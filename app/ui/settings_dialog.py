"""Preferences: models folder, tier override, model memory, default export folder, theme."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
)

THEMES = ("system", "light", "dark")


class SettingsDialog(QDialog):
    def __init__(self, win) -> None:
        super().__init__(win)
        self.win = win
        s = win.settings
        self.setWindowTitle("Settings")
        form = QFormLayout(self)
        self.models_dir = self._folder_row(form, "Models folder", s.models_dir, "the default folder")
        self.tier = QComboBox(self)
        self.tier.addItem("Automatic", "")
        try:
            from app.models.catalog import load_catalog

            for name, preset in load_catalog().tiers.items():
                self.tier.addItem(f"{name} — {preset.label}", name)
        except Exception as exc:  # a broken catalog must not stop the dialog
            self.tier.setToolTip(f"model catalog unreadable: {exc}")
        self.tier.setCurrentIndex(max(0, self.tier.findData(s.tier_override)))
        form.addRow("GPU tier", self.tier)
        self.cache_gb = QSpinBox(self)
        self.cache_gb.setRange(0, 4096)  # the range settings accept
        self.cache_gb.setSuffix(" GB")
        self.cache_gb.setSpecialValueText("Automatic")
        self.cache_gb.setValue(int(s.model_cache_gb))
        self.cache_gb.setToolTip(self._auto_tip())
        form.addRow("Model memory (GB, 0 = automatic)", self.cache_gb)
        self.export_dir = self._folder_row(form, "Export folder", s.export_dir, "your home folder")
        self.theme = QComboBox(self)
        self.theme.addItems([t.title() for t in THEMES])
        self.theme.setCurrentIndex(THEMES.index(s.theme) if s.theme in THEMES else 0)
        form.addRow("Theme", self.theme)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _folder_row(self, form, label: str, value: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(value, self)
        edit.setPlaceholderText(placeholder)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(lambda: self._browse(edit))
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(browse)
        form.addRow(label, row)
        return edit

    def _auto_tip(self) -> str:
        lines = "How many GB of model weights stay loaded between pictures; more keeps preview and final resident."
        try:
            auto = self.win.session.engines.auto_cache_gb()
        except Exception as exc:  # no torch, or no RAM reading: the setting still works
            return f"{lines}\nAutomatic: unknown here ({exc})"
        return f"{lines}\nAutomatic (0): {auto:.1f} GB on this computer"

    def _browse(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if folder:
            edit.setText(folder)

    def accept(self) -> None:
        from app.ui.theme import apply_theme

        s = self.win.settings
        new = (self.models_dir.text().strip(), self.tier.currentData(), self.cache_gb.value())
        engines_changed = (s.models_dir, s.tier_override, s.model_cache_gb) != new
        s.models_dir, s.tier_override, s.model_cache_gb = new
        s.export_dir = self.export_dir.text().strip()
        s.theme = THEMES[self.theme.currentIndex()]
        self.win.save_settings()
        apply_theme(QApplication.instance(), s.theme)
        if engines_changed:
            self.win.session.reset_engines(s.models_dir or None, s.tier_override or None, s.model_cache_gb)
        super().accept()
