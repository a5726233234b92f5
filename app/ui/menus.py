"""The menu bar: File, Render, Models, Settings, Help."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMessageBox


def build_menus(win) -> None:
    bar = win.menuBar()
    file = bar.addMenu("&File")
    _action(win, file, "&Open…", win.open_dialog, QKeySequence.StandardKey.Open)
    win.recent_menu = file.addMenu("Open &Recent")
    win.recent_menu.aboutToShow.connect(lambda: _fill_recent(win))
    win.export_action = _action(win, file, "&Export PNG…", win.export_dialog, QKeySequence("Ctrl+E"))
    win.save_fetched_action = _action(win, file, "Save &fetched data…", win.save_fetched_data)
    file.addSeparator()
    _action(win, file, "&Quit", win.close, QKeySequence.StandardKey.Quit)

    render = bar.addMenu("&Render")
    win.final_action = _action(win, render, "&Final render", lambda: win._run_ai("final"))
    win.queue_action = _action(win, render, "&Add to queue", win.queue_render, QKeySequence("Ctrl+Shift+R"))
    win.queue_action.setToolTip("Render the settings as they are now after the renders already queued")

    models = bar.addMenu("&Models")
    _action(win, models, "&Manage models…", win.manage_models)
    _action(win, models, "&LoRAs…", win.manage_loras)

    settings = bar.addMenu("&Settings")
    _action(win, settings, "&Preferences…", lambda: _settings(win), QKeySequence.StandardKey.Preferences)

    help_ = bar.addMenu("&Help")
    _action(win, help_, "&About MapBrush", lambda: about(win))
    _action(win, help_, "Open &log folder", open_log_folder)


def _action(win, menu, text, slot, shortcut=None) -> QAction:
    act = QAction(text, win)
    if shortcut is not None:
        act.setShortcut(shortcut)
    act.triggered.connect(lambda _=False: slot())
    menu.addAction(act)
    return act


def _fill_recent(win) -> None:
    menu = win.recent_menu
    menu.clear()
    files = [f for f in win.settings.recent_files if Path(f).exists()]
    if not files:
        menu.addAction("(none)").setEnabled(False)
    for f in files:
        act = menu.addAction(Path(f).name)
        act.setToolTip(f)
        act.triggered.connect(lambda _=False, p=f: win.open_paths([p]))


def _settings(win) -> None:
    from app.ui.settings_dialog import SettingsDialog

    SettingsDialog(win).open()


def about_text() -> str:
    import platform

    from PySide6 import __version__ as pyside_version

    from app import __version__
    from app.models.catalog import load_catalog

    lines = [f"<b>MapBrush {__version__}</b>", "Turn map data into finished map art.", ""]
    lines.append(f"Python {platform.python_version()} · PySide6 {pyside_version}")
    try:
        catalog = load_catalog()
        lines += ["", "<b>Models</b>"]
        for entry in catalog.models.values():
            lines.append(f"{entry.name}: {entry.licence}")
    except Exception as exc:  # the About box must open even with a broken catalog
        lines.append(f"(model catalog unreadable: {exc})")
    lines += ["", "Map data © its authors; OpenStreetMap data © OpenStreetMap contributors (ODbL)."]
    return "<br>".join(lines)


def about(win) -> None:
    box = QMessageBox(QMessageBox.Icon.Information, "About MapBrush", about_text(), parent=win)
    box.open()


def open_log_folder() -> None:
    from app.paths import user_log_dir

    folder = user_log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
