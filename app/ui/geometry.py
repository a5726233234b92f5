"""Window position and size between sessions, restored only onto a screen that still exists."""

from __future__ import annotations

import json
import logging

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication

from app.paths import user_config_dir

FILE_NAME = "window.json"
log = logging.getLogger(__name__)


def save_geometry(window) -> None:
    g = window.normalGeometry() if window.isMaximized() else window.geometry()
    state = {"x": g.x(), "y": g.y(), "w": g.width(), "h": g.height(), "maximized": window.isMaximized()}
    path = (window.config_dir or user_config_dir()) / FILE_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(state), "utf-8")
    except OSError as exc:
        log.warning("could not save the window geometry: %s", exc)


def restore_geometry(window) -> bool:
    """Move/resize the window as last time when that place is on a connected screen; True if restored."""
    path = (window.config_dir or user_config_dir()) / FILE_NAME
    try:
        state = json.loads(path.read_text("utf-8"))
        rect = QRect(int(state["x"]), int(state["y"]), int(state["w"]), int(state["h"]))
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not on_a_screen(rect):
        return False
    window.setGeometry(rect)
    if state.get("maximized"):
        window.showMaximized()
    return True


def on_a_screen(rect: QRect, min_visible: int = 100) -> bool:
    """At least a `min_visible`-pixel square of the window's top part lies on some screen."""
    if rect.width() < 200 or rect.height() < 150:
        return False
    title = QRect(rect.x(), rect.y(), rect.width(), min_visible)
    for screen in QGuiApplication.screens():
        inter = screen.availableGeometry().intersected(title)
        if inter.width() >= min_visible and inter.height() >= min_visible // 2:
            return True
    return False
