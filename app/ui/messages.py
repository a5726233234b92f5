"""Errors and notices in plain words: an inline bar above the picture, details one click away."""

from __future__ import annotations

import html
import traceback

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from app.errors import AppError

COLOURS = {"error": ("#fdecea", "#8a1c12"), "warning": ("#fff4d6", "#6b4a00"), "info": ("#e8f1fb", "#174a7c")}
SHOWN_WARNINGS = 3  # warnings in the bar itself; all of them under Details…


def plain_words(exc: BaseException) -> str:
    """One line a person can act on; never a traceback."""
    if isinstance(exc, AppError):
        return exc.one_line()
    if isinstance(exc, MemoryError):
        return "out of memory (try a smaller size)"
    return f"something went wrong inside MapBrush ({type(exc).__name__}: {exc})"


def details_of(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _sentence(line: str) -> str:
    """Capitalised, unless it starts with a file name ("world.shp: dropped …")."""
    first = line.split(" ", 1)[0]
    return line if "." in first.rstrip(".:") else line[:1].upper() + line[1:]


class MessageBar(QWidget):
    """A dismissable line of text; `Details…` opens the full story."""

    action = Signal(str)  # the action link's key, e.g. "models"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setObjectName("message_text")
        self.text.linkActivated.connect(self.action)
        self.details_button = QPushButton("Details…", self)
        self.details_button.clicked.connect(self._show_details)
        self.close_button = QPushButton("✕", self)
        self.close_button.setFlat(True)
        self.close_button.setFixedWidth(28)
        self.close_button.clicked.connect(self.hide)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.details_button)
        lay.addWidget(self.close_button)
        self._details = ""
        self.level = ""
        self.hide()

    def show_message(self, text: str, *, details: str = "", level: str = "error") -> None:
        bg, fg = COLOURS.get(level, COLOURS["info"])
        self.setStyleSheet(f"MessageBar {{ background: {bg}; }} QLabel {{ color: {fg}; }}")
        self.setAutoFillBackground(True)
        self.text.setTextFormat(Qt.TextFormat.AutoText)
        self.text.setText(text)
        self.level = level
        self._details = details
        self.details_button.setVisible(bool(details))
        self.show()

    def show_error(self, what: str, exc: BaseException) -> None:
        details = "" if isinstance(exc, AppError) else details_of(exc)
        self.show_message(f"{what}: {plain_words(exc)}", details=details)

    def show_warnings(self, lines: list[str], *, links: list[tuple[str, str]] = (), links_label: str = "") -> None:
        """Warnings from reading and rendering, one a line; `links` are (action key, label) offered after them."""
        shown = [html.escape(_sentence(w), quote=False) for w in lines[:SHOWN_WARNINGS]]
        if len(lines) > SHOWN_WARNINGS:
            shown[-1] += f" (and {len(lines) - SHOWN_WARNINGS} more: Details…)"
        text = "<br>".join(f"⚠ {w}" for w in shown)
        if links:
            anchors = " · ".join(f'<a href="{html.escape(k)}">{html.escape(t, quote=False)}</a>' for k, t in links)
            text += f"<br>{html.escape(links_label, quote=False)} {anchors}"
        details = "\n".join(lines) if len(lines) > SHOWN_WARNINGS else ""
        self.show_message(text, details=details, level="warning")
        self.text.setTextFormat(Qt.TextFormat.RichText)  # escaped above: shown as written, links live

    def message(self) -> str:
        return self.text.text() if self.isVisible() else ""

    def _show_details(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Details", self.text.text(), parent=self)
        box.setDetailedText(self._details)
        box.open()
